import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { Progress } from '../domain/types';
import { formatDuration, formatStep, logLines, messageLine, progressLine } from './format';
import type { Output } from './output';
import type { UpdateEvent } from './views';

/** How a followed execution is shown to a person, event by event. */
export interface FollowView {
  update(update: UpdateEvent): void;
  /** What the running sandbox step printed since the last piece. */
  output(text: string): void;
  /** A line of its own: a question waiting, the stream gone stale. */
  note(text: string): void;
  /** Draws the last state and gives the terminal back; the view is not used after it. */
  stop(): void;
}

/** Messages worth showing while following: all but debug. */
const shown = (update: UpdateEvent) => update.messages.filter((message) => message.level !== 'debug');

/**
 * A live progress bar (phase, step, percent, time left) drawn by cli-progress on a terminal, with
 * the sandbox output and messages written above it as whole lines.
 */
export class BarView implements FollowView {
  private readonly bars: MultiBar;
  private readonly bar: SingleBar;
  private partial = '';

  constructor(out: Output) {
    this.bars = new MultiBar(
      {
        stream: out.stdout,
        format: '{status} {phase} |{bar}| {percentage}% | {step} | {timeLeft} left',
        barsize: 30,
        hideCursor: true,
        clearOnComplete: false,
        // Lines logged above the bar overwrite it; without this, an unchanged bar is not drawn again.
        forceRedraw: true,
        gracefulExit: false,
        autopadding: true,
      },
      Presets.shades_classic,
    );
    this.bar = this.bars.create(100, 0, payload('queued', null));
  }

  update(update: UpdateEvent): void {
    for (const message of shown(update)) this.bars.log(`${messageLine(message)}\n`);
    this.bar.update(Math.round(update.progress.percentage), payload(update.status, update.progress));
  }

  output(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.bars.log(`${line}\n`);
  }

  note(text: string): void {
    this.bars.log(`${text}\n`);
  }

  stop(): void {
    if (this.partial !== '') this.bars.log(`${this.partial}\n`);
    this.partial = '';
    // Writes what was logged since the last redraw; stop() alone would drop it.
    this.bars.update();
    this.bars.stop();
  }
}

function payload(status: string, progress: Progress | null) {
  return {
    status,
    phase: progress?.currentPhase ?? 'queued',
    step: progress ? formatStep(progress) : '–',
    timeLeft: formatDuration(progress?.estimatedTimeRemainingMs),
  };
}

/**
 * Whole lines and streamed output on one stream: a line that comes while the output is mid-line
 * starts on a line of its own.
 */
abstract class LineView implements FollowView {
  private midLine = false;

  constructor(protected readonly out: Output) {}

  abstract update(update: UpdateEvent): void;

  output(text: string): void {
    this.out.text(text);
    this.midLine = !text.endsWith('\n');
  }

  note(text: string): void {
    this.line(text);
  }

  stop(): void {
    if (this.midLine) this.out.text('\n');
    this.midLine = false;
  }

  protected line(text: string): void {
    if (this.midLine) this.out.text('\n');
    this.midLine = false;
    this.out.line(text);
  }
}

/** Plain lines, for a stdout that is not a terminal: one progress line per change of phase, step or percent. */
export class PlainProgressView extends LineView {
  private last = '';

  update(update: UpdateEvent): void {
    for (const message of shown(update)) this.line(messageLine(message));
    const line = progressLine(update.status, update.progress);
    // The time left changes with every reading; a new line only when something else did.
    const key = line.slice(0, line.lastIndexOf('  '));
    if (key !== this.last) {
      this.last = key;
      this.line(line);
    }
  }
}

/** `logs -f`: the timeline and messages as they grow, and the sandbox output. */
export class LogView extends LineView {
  update(update: UpdateEvent): void {
    for (const line of logLines(update.timeline, update.messages)) this.line(line);
  }
}
