import type { Command } from 'commander';
import { usageError } from '../cli-error';
import { action, collect, wholeNumber, type CliDeps, type Context } from '../context';
import { taskReport, taskTable } from '../format';
import { parseJsonObject, readText, readUploads } from '../inputs';
import type { TaskView } from '../views';
import { reportStarted, startTaskRun, withExecutionOptions, withFollow, type RunOptions } from './run';

const taskPath = (slug: string) => `/api/tasks/${encodeURIComponent(slug)}`;

interface DefinitionOptions {
  definition?: string;
  title?: string;
  description?: string;
  parameters?: string;
  code?: string;
  plan?: string;
  options?: string;
  file?: string[];
}

/** A task's definition: the `--definition` JSON file, then each flag over it. */
async function definitionFrom(options: DefinitionOptions): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = options.definition
    ? parseJsonObject(await readText(options.definition, '--definition'), '--definition')
    : {};
  if (options.title !== undefined) body.title = options.title;
  if (options.description !== undefined) body.description = options.description;
  if (options.parameters !== undefined) body.parameters = parseJsonObject(options.parameters, '--parameters');
  if (options.code !== undefined) body.code = await readText(options.code, '--code');
  if (options.plan !== undefined) body.plan = parseJsonObject(await readText(options.plan, '--plan'), '--plan');
  if (options.options !== undefined) body.options = parseJsonObject(options.options, '--options');
  if (options.file !== undefined) body.files = await readUploads(options.file);
  return body;
}

function withDefinition(command: Command): Command {
  return command
    .option('--definition <file>', 'the whole definition as a JSON file (the flags win)')
    .option('--title <text>', 'a short title')
    .option('--description <text>', 'the task text, with {{name}} placeholders for its parameters')
    .option(
      '--parameters <json>',
      'JSON Schema subset: \'{"properties": {"region": {"type": "string"}}, "required": ["region"]}\'',
    )
    .option('--code <file>', 'Python the task runs (no model needed)')
    .option('--plan <file>', 'a plan as a JSON file')
    .option('--options <json>', 'execution options as JSON')
    .option('-f, --file <path>', 'a default data file of the task (repeat for more)', collect);
}

/** tasks list | show | create | update | delete | run. */
export function registerTaskCommands(program: Command, deps: CliDeps): void {
  const tasks = program.command('tasks').description("the tenant's named tasks: saved once, run by name");

  tasks
    .command('list')
    .description('the latest version of each task')
    .action(
      action(deps, async (ctx) => {
        const answer = await ctx.client.json<{ tasks: TaskView[] }>('GET', '/api/tasks');
        ctx.out.show(answer, () => taskTable(answer.tasks));
      }),
    );

  tasks
    .command('show')
    .description('a task: its parameters, what it runs, its versions')
    .argument('<slug>')
    .option('--task-version <n>', 'this version, not the latest', wholeNumber(1))
    .action(
      action(deps, async (ctx, options: { taskVersion?: number }, slug: string) => {
        const task = await ctx.client.json<TaskView>('GET', taskPath(slug), {
          query: { version: options.taskVersion },
        });
        ctx.out.show(task, taskReport);
      }),
    );

  withDefinition(
    tasks.command('create').description('save a new task at version 1').argument('<slug>', 'a-z, 0-9 and "-"'),
  ).action(
    action(deps, async (ctx, options: DefinitionOptions, slug: string) => {
      const task = await ctx.client.json<TaskView>('POST', '/api/tasks', {
        body: { ...(await definitionFrom(options)), slug },
      });
      ctx.out.show(task, () => [`created task ${task.slug} v${task.version}`]);
    }),
  );

  withDefinition(
    tasks.command('update').description('save the next version of a task (the whole definition)').argument('<slug>'),
  ).action(
    action(deps, async (ctx, options: DefinitionOptions, slug: string) => {
      const body = await definitionFrom(options);
      if (Object.keys(body).length === 0) throw usageError('give the new definition: --definition <file> or flags');
      const task = await ctx.client.json<TaskView>('PUT', taskPath(slug), { body });
      ctx.out.show(task, () => [`saved task ${task.slug} v${task.version}`]);
    }),
  );

  tasks
    .command('delete')
    .description('delete a task, every version, and its schedules')
    .argument('<slug>')
    .action(
      action(deps, async (ctx: Context, _options: object, slug: string) => {
        await ctx.client.json('DELETE', taskPath(slug));
        ctx.out.show({ ok: true, slug }, () => [`deleted task ${slug}`]);
      }),
    );

  withFollow(
    withExecutionOptions(
      tasks
        .command('run')
        .description('run a task with inputs (the same as run --task)')
        .argument('<slug>')
        .option('--input <name=value>', 'an input (repeat); name:=<json> for a JSON value', collect)
        .option('-f, --file <path>', 'a data file, replacing the default of the same name (repeat)', collect)
        .option('--task-version <n>', 'run this version, not the latest', wholeNumber(1)),
    ),
  ).action(
    action(deps, async (ctx, options: RunOptions & { input?: string[]; taskVersion?: number }, slug: string) =>
      reportStarted(ctx, await startTaskRun(ctx, slug, options.input ?? [], options), options),
    ),
  );
}
