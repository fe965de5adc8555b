import { InvalidArgumentError, type Command } from 'commander';
import { EXIT, type ExitCode } from './exit-codes';
import { GatewayClient } from './gateway-client';
import { Output } from './output';
import { loadCliSettings } from './settings';

/** What every command is handed: where to write, and the gateway to talk to. */
export interface Context {
  out: Output;
  client: GatewayClient;
}

/** What the entry point hands the program: its environment and streams, and where the exit code goes. */
export interface CliDeps {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** Set by the command that ran; the entry point exits with it. */
  result: { exitCode: ExitCode };
}

/** The options of the program itself, given before or after the command. */
export interface GlobalOptions {
  url?: string;
  key?: string;
  json?: boolean;
}

/**
 * Wraps a command's handler for commander: builds the context from the global options, and keeps
 * the exit code the handler answers (OK when it answers nothing).
 */
export function action<Args extends unknown[], Options>(
  deps: CliDeps,
  handler: (ctx: Context, options: Options, ...args: Args) => Promise<ExitCode | void>,
) {
  return async (...received: unknown[]): Promise<void> => {
    const command = received.at(-1) as Command;
    const args = received.slice(0, -2) as Args;
    const globals = command.optsWithGlobals<GlobalOptions>();
    const out = new Output(globals.json === true, deps.stdout, deps.stderr);
    const client = new GatewayClient(loadCliSettings(globals, deps.env));
    deps.result.exitCode = (await handler({ out, client }, command.opts() as Options, ...args)) ?? EXIT.OK;
  };
}

/** Collects a repeatable option's values. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Parses a whole number option of at least `min`. */
export const wholeNumber =
  (min = 1) =>
  (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min) throw new InvalidArgumentError(`a whole number from ${min}`);
    return number;
  };

/** Parses a positive amount (a budget in US dollars). */
export const positiveNumber = (value: string): number => {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('a number above 0');
  return number;
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses a duration option such as `90s`, `10m` or `2h` into milliseconds. */
export function parseDuration(value: string): number {
  const match = DURATION.exec(value.trim());
  if (!match) throw new InvalidArgumentError('a duration such as 90s, 10m or 2h');
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
}
