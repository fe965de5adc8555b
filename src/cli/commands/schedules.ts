import { Option, type Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { usageError } from '../cli-error';
import { action, collect, type CliDeps } from '../context';
import { scheduleTable } from '../format';
import type { ScheduleView } from '../views';
import { taskInputs } from './run';

const schedulesPath = (slug: string, id?: string) =>
  `/api/tasks/${encodeURIComponent(slug)}/schedules${id === undefined ? '' : `/${encodeURIComponent(id)}`}`;

const scheduleLine = (schedule: ScheduleView) =>
  `${schedule.id}  ${schedule.spec.cron ?? `every ${schedule.spec.every}`}  ${schedule.paused ? 'paused' : `next ${schedule.nextRuns[0] ?? '–'}`}`;

const taskVersion = (value: string): number | 'latest' => {
  if (value === 'latest') return value;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('a version number, or "latest"');
  return number;
};

interface CreateOptions {
  cron?: string;
  every?: string;
  timezone?: string;
  input?: string[];
  overlap?: string;
  paused?: boolean;
  note?: string;
  taskVersion?: number | 'latest';
}

/** schedules list | show | create | pause | resume | trigger | delete, of one named task. */
export function registerScheduleCommands(program: Command, deps: CliDeps): void {
  const schedules = program.command('schedules').description('Temporal Schedules that run a named task');

  schedules
    .command('list')
    .description("a task's schedules")
    .argument('<slug>', 'the task')
    .action(
      action(deps, async (ctx, _options: object, slug: string) => {
        const answer = await ctx.client.json<{ schedules: ScheduleView[] }>('GET', schedulesPath(slug));
        ctx.out.show(answer, () => scheduleTable(answer.schedules));
      }),
    );

  schedules
    .command('show')
    .description('a schedule, its next and recent runs')
    .argument('<slug>', 'the task')
    .argument('<id>', 'the schedule id')
    .action(
      action(deps, async (ctx, _options: object, slug: string, id: string) => {
        const schedule = await ctx.client.json<ScheduleView>('GET', schedulesPath(slug, id));
        ctx.out.show(schedule, () => [
          scheduleLine(schedule),
          `inputs  ${JSON.stringify(schedule.inputs)}`,
          ...schedule.nextRuns.map((at) => `next    ${at}`),
          ...schedule.recentRuns.map((run) => `ran     ${run.startedAt}  ${run.executionId}`),
        ]);
      }),
    );

  schedules
    .command('create')
    .description('run a task on a cron expression or at an interval')
    .argument('<slug>', 'the task')
    .option('--cron <expression>', 'five fields, such as "0 7 * * 1-5"')
    .option('--every <interval>', 'such as 30s, 5m, 2h, 1d')
    .option('--timezone <zone>', 'an IANA zone (default UTC)')
    .option('--input <name=value>', 'an input of the task (repeat); name:=<json> for a JSON value', collect)
    .addOption(
      new Option('--overlap <policy>', 'when a run is due while the last one runs').choices([
        'skip',
        'buffer_one',
        'allow_all',
        'cancel_other',
      ]),
    )
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note shown with it')
    .option('--task-version <n>', 'the version each run uses, or "latest" (default: the current one)', taskVersion)
    .action(
      action(deps, async (ctx, options: CreateOptions, slug: string) => {
        if ((options.cron === undefined) === (options.every === undefined)) {
          throw usageError('give one of --cron <expression> and --every <interval>');
        }
        const schedule = await ctx.client.json<ScheduleView>('POST', schedulesPath(slug), {
          body: {
            cron: options.cron,
            every: options.every,
            timezone: options.timezone,
            inputs: await taskInputs(ctx, slug, options.input ?? []),
            overlap: options.overlap,
            paused: options.paused,
            note: options.note,
            version: options.taskVersion,
          },
        });
        ctx.out.show(schedule, () => [`created schedule ${scheduleLine(schedule)}`]);
      }),
    );

  for (const [name, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    schedules
      .command(name)
      .description(paused ? 'stop starting runs (until resumed)' : 'start runs again')
      .argument('<slug>', 'the task')
      .argument('<id>', 'the schedule id')
      .option('--note <text>', 'say why')
      .action(
        action(deps, async (ctx, options: { note?: string }, slug: string, id: string) => {
          const schedule = await ctx.client.json<ScheduleView>('PATCH', schedulesPath(slug, id), {
            body: { paused, note: options.note },
          });
          ctx.out.show(schedule, () => [`${paused ? 'paused' : 'resumed'} schedule ${scheduleLine(schedule)}`]);
        }),
      );
  }

  schedules
    .command('trigger')
    .description('start a run now, under its overlap policy')
    .argument('<slug>', 'the task')
    .argument('<id>', 'the schedule id')
    .action(
      action(deps, async (ctx, _options: object, slug: string, id: string) => {
        const answer = await ctx.client.json('POST', `${schedulesPath(slug, id)}/trigger`);
        ctx.out.show(answer, () => [
          `triggered schedule ${id}: agent-exec list --task ${slug} --triggered-by schedule`,
        ]);
      }),
    );

  schedules
    .command('delete')
    .description('delete a schedule (its runs go on)')
    .argument('<slug>', 'the task')
    .argument('<id>', 'the schedule id')
    .action(
      action(deps, async (ctx, _options: object, slug: string, id: string) => {
        await ctx.client.json('DELETE', schedulesPath(slug, id));
        ctx.out.show({ ok: true, id }, () => [`deleted schedule ${id}`]);
      }),
    );
}
