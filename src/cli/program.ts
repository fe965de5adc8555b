import { Command } from 'commander';
import { oneLine } from './cli-error';
import { registerExecutionCommands } from './commands/executions';
import { registerRun } from './commands/run';
import { registerScheduleCommands } from './commands/schedules';
import { registerTaskCommands } from './commands/tasks';
import type { CliDeps } from './context';
import { DEFAULT_GATEWAY_URL } from './settings';

/**
 * The `agent-exec` program: global options, then each command. Commander's own errors (an unknown
 * flag, a missing argument) are written as one line and thrown as CommanderError, never exit the
 * process, so the entry point picks the exit code.
 */
export function buildProgram(deps: CliDeps, version: string): Command {
  const program = new Command('agent-exec')
    .description('Run and watch AI data-analysis executions through the gateway')
    .version(version, '-V, --version')
    .option('--url <url>', `the gateway (default: AGENT_EXEC_URL, else ${DEFAULT_GATEWAY_URL})`)
    .option('--key <key>', 'the API key (default: AGENT_EXEC_KEY)')
    .option('--json', 'machine output: the gateway’s JSON (one object; with --follow, one event a line)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.stdout.write(text),
      writeErr: (text) => deps.stderr.write(text),
      outputError: (text, write) =>
        write(`agent-exec: ${oneLine(text.replace(/^error: /, ''))} (agent-exec --help shows the usage)\n`),
    });
  registerRun(program, deps);
  registerExecutionCommands(program, deps);
  registerTaskCommands(program, deps);
  registerScheduleCommands(program, deps);
  return program;
}
