/**
 * Where a command writes: people's text and machine JSON on stdout, notes and the final error
 * line on stderr. With `--json`, stdout carries only JSON: one object per command, or one object a
 * line for a followed stream.
 */
export class Output {
  constructor(
    readonly json: boolean,
    readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Whether stdout is a terminal a progress bar can be drawn on. */
  get interactive(): boolean {
    return this.stdout.isTTY === true;
  }

  /** Text for people (nothing in `--json` mode, where `data` says it). */
  lines(lines: string[]): void {
    if (this.json) return;
    for (const line of lines) this.stdout.write(`${line}\n`);
  }

  line(text = ''): void {
    this.lines([text]);
  }

  /** Raw text for people, such as a sandbox's output as it streams. */
  text(text: string): void {
    if (!this.json) this.stdout.write(text);
  }

  /** A note on stderr, kept apart from the results on stdout (shown in `--json` mode too). */
  note(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  /** The command's JSON answer, in `--json` mode. */
  data(value: unknown): void {
    if (this.json) this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One object of a newline-delimited stream, in `--json` mode. */
  event(value: unknown): void {
    if (this.json) this.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** `value` as JSON in `--json` mode, or the lines `human` makes of it. */
  show<T>(value: T, human: (value: T) => string[]): void {
    if (this.json) this.data(value);
    else this.lines(human(value));
  }
}
