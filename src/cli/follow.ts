import { isTerminal } from '../domain/status';
import { executionEvents } from './event-stream';
import { EXIT, exitCodeForEndState, type EndState, type ExitCode } from './exit-codes';
import { answerHint } from './format';
import type { FollowView } from './follow-views';
import type { GatewayClient } from './gateway-client';
import type { Output } from './output';
import type { EndEvent, Snapshot, UpdateEvent } from './views';
import type { TimelineEvent } from '../domain/types';

export interface FollowOptions {
  /** How a person sees it; unused in `--json` mode, which writes each event as a line. */
  view: FollowView;
  /** Called once the execution has ended, after the view has stopped. */
  onEnd?: (end: EndEvent) => Promise<void>;
}

/**
 * Follows execution `id` through its event stream until it ends, and answers the exit code of its
 * end state; Ctrl-C stops following (INTERRUPTED), not the execution.
 */
export async function followExecution(
  client: GatewayClient,
  out: Output,
  id: string,
  options: FollowOptions,
): Promise<ExitCode> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  const { view } = options;
  const shown = new ShownOutput(client, id, view);
  let askedSince: string | null = null;
  let end: EndEvent | null = null;
  try {
    for await (const event of executionEvents(client, id, { signal: controller.signal })) {
      if (out.json) out.event(event);
      switch (event.event) {
        case 'update': {
          const update = event.data as UpdateEvent;
          if (out.json) break;
          if (update.timeline.some(endsAttempts)) await shown.catchUp();
          view.update(update);
          if (update.status === 'awaiting_input' && update.awaiting && update.awaiting.since !== askedSince) {
            askedSince = update.awaiting.since;
            view.note(`waiting for an answer (${update.awaiting.kind}): ${update.awaiting.prompt}`);
            view.note(`  answer with: ${answerHint(id, update.awaiting)}`);
          }
          break;
        }
        case 'output':
          if (!out.json) shown.streamed(event.data as OutputEvent);
          break;
        case 'stale':
          if (!out.json) {
            view.note(
              (event.data as { stale?: boolean }).stale
                ? 'no worker answers for this execution right now; waiting for one'
                : 'a worker answers again',
            );
          }
          break;
        case 'end':
          end = event.data as EndEvent;
          if (!out.json) await shown.catchUp();
          break;
        default:
          // `token` (what the model is writing) and events of later versions are not shown.
          break;
      }
    }
  } finally {
    process.removeListener('SIGINT', stop);
    if (!out.json) view.stop();
  }
  if (end === null || !isTerminal(end.status)) {
    out.note(`Stopped following ${id}; it goes on: \`agent-exec status ${id}\` shows it.`);
    return EXIT.INTERRUPTED;
  }
  await options.onEnd?.(end);
  return exitCodeForEndState(end.status as EndState);
}

interface OutputEvent {
  stepId: string;
  attempt: number;
  text: string;
}

/** Timeline events after which a step's attempts have all their output recorded. */
const endsAttempts = (event: TimelineEvent) =>
  event.stepId !== null && (event.event === 'TASK_COMPLETED' || event.event === 'TASK_FAILED');

/**
 * The sandbox output shown so far, by step and attempt. Live `output` events come about once a
 * second while a step runs, so a quick step may end before sending any: once attempts end, what
 * their recorded stdout holds beyond what was streamed is shown from the snapshot.
 */
class ShownOutput {
  private readonly chars = new Map<string, number>();

  constructor(
    private readonly client: GatewayClient,
    private readonly id: string,
    private readonly view: FollowView,
  ) {}

  streamed(event: OutputEvent): void {
    const key = `${event.stepId}#${event.attempt}`;
    this.chars.set(key, (this.chars.get(key) ?? 0) + event.text.length);
    this.view.output(event.text);
  }

  async catchUp(): Promise<void> {
    let snapshot: Snapshot;
    try {
      snapshot = await this.client.json<Snapshot>('GET', `/api/executions/${encodeURIComponent(this.id)}`);
    } catch {
      return; // only output is missed; the stream goes on
    }
    for (const step of snapshot.steps) {
      for (const attempt of step.attempts) {
        const key = `${step.id}#${attempt.n}`;
        const shown = this.chars.get(key) ?? 0;
        if (attempt.reused || attempt.stdout.length <= shown) continue;
        const rest = attempt.stdout.slice(shown);
        this.view.output(rest.endsWith('\n') ? rest : `${rest}\n`);
        this.chars.set(key, attempt.stdout.length);
      }
    }
  }
}
