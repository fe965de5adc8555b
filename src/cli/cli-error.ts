import { EXIT, type ExitCode } from './exit-codes';

/**
 * What ends a command with a one-line message on stderr and `exitCode`; the entry point turns it
 * into exactly that, never a stack trace.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A mistake in how the command was called. */
export const usageError = (message: string) => new CliError(EXIT.USAGE, message);

/** Makes `text` one line: the contract is one line of message per failure. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
