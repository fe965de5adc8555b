import { CommanderError } from 'commander';
import { version } from '../../package.json';
import { CliError, oneLine } from './cli-error';
import type { CliDeps } from './context';
import { EXIT, type ExitCode } from './exit-codes';
import { buildProgram } from './program';

/**
 * Runs `agent-exec` with `argv` (as process.argv) and answers its exit code. Every failure ends as
 * one line on stderr: the CLI's own, commander's, or the gateway's message.
 */
export async function runCli(argv: string[], deps: Omit<CliDeps, 'result'>): Promise<ExitCode> {
  const result = { exitCode: EXIT.OK as ExitCode };
  const program = buildProgram({ ...deps, result }, version);
  try {
    await program.parseAsync(argv);
    return result.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander wrote its message already; help and --version end well.
      return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const message = error instanceof CliError ? error.message : `unexpected error: ${(error as Error)?.message}`;
    deps.stderr.write(`agent-exec: ${oneLine(message)}\n`);
    return error instanceof CliError ? error.exitCode : EXIT.ERROR;
  }
}
