import { Option, type Command } from 'commander';
import { resultFiles, saveFiles } from '../artifacts';
import { usageError } from '../cli-error';
import { action, collect, parseDuration, wholeNumber, type CliDeps, type Context } from '../context';
import { EXIT, type ExitCode } from '../exit-codes';
import { followExecution } from '../follow';
import { BarView, PlainProgressView } from '../follow-views';
import { formatBytes } from '../format';
import { coerceInputs, parseInput, parseJsonObject, readText, readUploads } from '../inputs';
import type { EndEvent, Started, TaskView } from '../views';

/** The options `run`, `tasks run` and `retry` share: how the execution runs, and following it. */
export interface RunOptions {
  file?: string[];
  requireApproval?: boolean;
  maxAttempts?: number;
  timeout?: number;
  onExhausted?: 'fail' | 'ask';
  model?: string;
  options?: string;
  idempotencyKey?: string;
  follow?: boolean;
  out: string;
}

/** Adds the execution options (each one of `options` in POST /api/executions) to `command`. */
export function withExecutionOptions(command: Command): Command {
  return command
    .option('--require-approval', 'wait for a person to approve the plan before any code runs')
    .option('--max-attempts <n>', 'code attempts per step, 1 to 10', wholeNumber(1))
    .option('--timeout <duration>', 'the whole execution, such as 10m; past it, it ends timed_out', parseDuration)
    .addOption(
      new Option('--on-exhausted <what>', 'after the last failed attempt: fail, or ask a person').choices([
        'fail',
        'ask',
      ]),
    )
    .option('--model <name>', 'the model to plan, write code and analyse')
    .option('--options <json>', 'any other options as JSON, such as \'{"budgetUsd": 1}\' (the flags win)')
    .option('--idempotency-key <key>', 'the same key starts the execution once, and answers the same id again');
}

/** Adds `--follow` and `--out`. */
export function withFollow(command: Command): Command {
  return command
    .option('--follow', 'show progress and output until it ends; exit with its end state')
    .option('--out <dir>', 'with --follow: where to save the answer’s plots and files', '.');
}

/** The `options` object of a request: the `--options` JSON, then each flag given over it. */
export function executionOptions(options: RunOptions): Record<string, unknown> | undefined {
  const merged: Record<string, unknown> = options.options ? parseJsonObject(options.options, '--options') : {};
  if (options.requireApproval) merged.requireApproval = true;
  if (options.maxAttempts !== undefined) merged.maxAttempts = options.maxAttempts;
  if (options.timeout !== undefined) merged.timeoutMs = options.timeout;
  if (options.onExhausted !== undefined) merged.onExhausted = options.onExhausted;
  if (options.model !== undefined) merged.model = options.model;
  return Object.keys(merged).length === 0 ? undefined : merged;
}

const idempotency = (options: RunOptions): Record<string, string> =>
  options.idempotencyKey === undefined ? {} : { 'idempotency-key': options.idempotencyKey };

/** Reads `--input`s for task `slug`, each typed as its parameter declares. */
export async function taskInputs(ctx: Context, slug: string, inputs: string[]): Promise<Record<string, unknown>> {
  const parsed = inputs.map(parseInput);
  if (parsed.length === 0) return {};
  const task = await ctx.client.json<TaskView>('GET', `/api/tasks/${encodeURIComponent(slug)}`);
  return coerceInputs(parsed, task.parameters.properties);
}

/** Starts a run of named task `slug`, as `run --task` and `tasks run` do. */
export async function startTaskRun(
  ctx: Context,
  slug: string,
  inputs: string[],
  options: RunOptions & { taskVersion?: number },
): Promise<Started> {
  const body = {
    inputs: await taskInputs(ctx, slug, inputs),
    files: await readUploads(options.file ?? []),
    options: executionOptions(options),
    version: options.taskVersion,
    triggeredBy: 'user',
  };
  return ctx.client.json<Started>('POST', `/api/tasks/${encodeURIComponent(slug)}/runs`, {
    body,
    headers: idempotency(options),
  });
}

/**
 * What `run`, `tasks run` and `retry` do once the gateway took the request: print the id (or the
 * gateway's answer), and with `--follow` follow it to its end.
 */
export async function reportStarted(ctx: Context, started: Started, options: RunOptions): Promise<ExitCode> {
  const { out } = ctx;
  const parent = started.parentId ? ` (a retry of ${started.parentId})` : '';
  if (!options.follow) {
    out.show(started, () => [
      `${started.id} ${started.status}${parent}`,
      `  follow it: agent-exec logs ${started.id} -f`,
    ]);
    return EXIT.OK;
  }
  out.event({ event: 'started', data: started });
  out.line(`${started.id} ${started.status}${parent}`);
  const view = out.interactive ? new BarView(out) : new PlainProgressView(out);
  return followExecution(ctx.client, out, started.id, {
    view,
    onEnd: (end) => finish(ctx, end, options.out),
  });
}

/** Prints how a followed execution ended and its answer, and saves its plots and files in `dir`. */
async function finish(ctx: Context, end: EndEvent, dir: string): Promise<void> {
  const { out, client } = ctx;
  const saved = await saveFiles(client, end.id, resultFiles(end.result), dir);
  if (out.json) {
    out.event({ event: 'saved', data: { files: saved } });
    return;
  }
  out.line(`${end.id} ${end.status}`);
  if (end.result?.analysis) out.lines(['', end.result.analysis, '']);
  if (end.error) {
    out.lines([`${end.error.code}: ${end.error.message}`]);
    const where = end.error.stepId ? ` at step ${end.error.stepId}` : '';
    out.note(`agent-exec: ${end.id} ended ${end.status} (${end.error.code}${where})`);
  }
  for (const file of saved) out.line(`saved ${file.path} (${formatBytes(file.size)})`);
}

export function registerRun(program: Command, deps: CliDeps): void {
  const run = program
    .command('run')
    .description('start an execution: a task for the model, code to run, or a named task')
    .argument('[task]', 'the task in plain words')
    .option('-f, --file <path>', 'a data file (repeat for more)', collect)
    .option('--code <file>', 'run this Python file as the only step (no model needed)')
    .option('--task <slug>', 'run the named task with this slug')
    .option('--input <name=value>', 'an input of the named task (repeat); name:=<json> for a JSON value', collect)
    .option('--task-version <n>', 'with --task: run this version, not the latest', wholeNumber(1));
  withFollow(withExecutionOptions(run)).action(
    action(
      deps,
      async (
        ctx,
        options: RunOptions & { code?: string; task?: string; input?: string[]; taskVersion?: number },
        task?: string,
      ) => {
        if (options.task !== undefined) {
          if (task !== undefined) throw usageError('give either the task in words or --task <slug>, not both');
          if (options.code !== undefined) throw usageError('--code does not go with --task: a named task has its own');
          return reportStarted(ctx, await startTaskRun(ctx, options.task, options.input ?? [], options), options);
        }
        if (options.input !== undefined)
          throw usageError('--input gives the inputs of a named task: add --task <slug>');
        if (options.taskVersion !== undefined) throw usageError('--task-version goes with --task <slug>');
        if (task === undefined && options.code === undefined) {
          throw usageError('say what to do: a task in words, --code <file>, or --task <slug>');
        }
        const body = {
          task,
          code: options.code === undefined ? undefined : await readText(options.code, '--code'),
          files: await readUploads(options.file ?? []),
          options: executionOptions(options),
          triggeredBy: 'user',
        };
        const started = await ctx.client.json<Started>('POST', '/api/executions', {
          body,
          headers: idempotency(options),
        });
        return reportStarted(ctx, started, options);
      },
    ),
  );
}
