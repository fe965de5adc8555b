import { Option, type Command } from 'commander';
import { EXECUTION_STATUSES, TRIGGERS } from '../../domain/status';
import { answerBody, checkAnswerFlags } from '../answers';
import { executionFiles, pickFile, saveFiles } from '../artifacts';
import { action, collect, positiveNumber, wholeNumber, type CliDeps, type Context } from '../context';
import { followExecution } from '../follow';
import { LogView } from '../follow-views';
import { executionTable, formatBytes, logLines, statusReport, table } from '../format';
import { readText } from '../inputs';
import type { ExecutionPage, Snapshot, Started } from '../views';
import { reportStarted, withFollow, type RunOptions } from './run';

const executionPath = (id: string, rest = '') => `/api/executions/${encodeURIComponent(id)}${rest}`;

const snapshotOf = (ctx: Context, id: string) => ctx.client.json<Snapshot>('GET', executionPath(id));

/** list, status, logs, pause, resume, cancel, answer, retry and files: one execution at a time. */
export function registerExecutionCommands(program: Command, deps: CliDeps): void {
  program
    .command('list')
    .description('list executions, newest first')
    .addOption(new Option('--status <status>', 'only those in this state').choices([...EXECUTION_STATUSES]))
    .addOption(new Option('--triggered-by <trigger>', 'only those started so').choices([...TRIGGERS]))
    .option('--task <slug>', "only a named task's runs")
    .option('--tenant <tenant>', "the operator's key only: another tenant's")
    .option('--limit <n>', 'how many, 1 to 100', wholeNumber(1), 20)
    .option('--page-token <token>', 'the next page, as the last one said')
    .action(
      action(
        deps,
        async (
          ctx,
          options: {
            status?: string;
            triggeredBy?: string;
            task?: string;
            tenant?: string;
            limit: number;
            pageToken?: string;
          },
        ) => {
          const page = await ctx.client.json<ExecutionPage>('GET', '/api/executions', {
            query: {
              status: options.status,
              triggeredBy: options.triggeredBy,
              task: options.task,
              tenant: options.tenant,
              pageSize: options.limit,
              nextPageToken: options.pageToken,
            },
          });
          ctx.out.show(page, () => [
            ...executionTable(page.executions),
            ...(page.nextPageToken ? [`more: agent-exec list --page-token ${page.nextPageToken}`] : []),
          ]);
        },
      ),
    );

  program
    .command('status')
    .description("an execution's state, progress, question or answer, and files")
    .argument('<id>', 'the execution id')
    .action(
      action(deps, async (ctx, _options: object, id: string) => {
        ctx.out.show(await snapshotOf(ctx, id), statusReport);
      }),
    );

  program
    .command('logs')
    .description("an execution's timeline and messages; with -f, live until it ends")
    .argument('<id>', 'the execution id')
    .option('-f, --follow', 'keep showing new events and sandbox output; exit with its end state')
    .action(
      action(deps, async (ctx, options: { follow?: boolean }, id: string) => {
        if (!options.follow) {
          const snapshot = await snapshotOf(ctx, id);
          const { timeline, messages } = snapshot;
          ctx.out.show({ id: snapshot.id, status: snapshot.status, timeline, messages }, () =>
            logLines(timeline, messages),
          );
          return;
        }
        return followExecution(ctx.client, ctx.out, id, {
          view: new LogView(ctx.out),
          onEnd: async (end) => ctx.out.line(`${end.id} ended ${end.status}`),
        });
      }),
    );

  for (const [name, description] of [
    ['pause', 'pause a running execution: its running step finishes, nothing new starts'],
    ['resume', 'resume a paused execution'],
    ['cancel', 'cancel an active execution; its sandbox is killed at once'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<id>', 'the execution id')
      .option('--reason <text>', 'recorded on the timeline')
      .action(
        action(deps, async (ctx, options: { reason?: string }, id: string) => {
          const body = options.reason === undefined ? {} : { reason: options.reason };
          const answer = await ctx.client.json<{ id: string; status?: string }>('POST', executionPath(id, `/${name}`), {
            body,
          });
          ctx.out.show(answer, () => [
            name === 'cancel' ? `${id} cancellation requested` : `${id} ${answer.status ?? name}`,
          ]);
        }),
      );
  }

  program
    .command('answer')
    .description('answer the question an execution waits on: approve a plan, give a hint or code, raise a budget')
    .argument('<id>', 'the execution id')
    .option('--approve', 'approve the plan (or, with --budget, raise the budget)')
    .option('--reject', 'reject the plan, give up on the step, or stop at the budget')
    .option('--text <text>', 'a hint for the model (or, with --reject, why the plan is rejected)')
    .option('--code <file>', 'Python to run for the failed step')
    .option('--budget <usd>', 'with --approve: the new budget in US dollars', positiveNumber)
    .action(
      action(
        deps,
        async (
          ctx,
          options: { approve?: boolean; reject?: boolean; text?: string; code?: string; budget?: number },
          id: string,
        ) => {
          // The flags are checked before anything is read or asked.
          checkAnswerFlags(options);
          const code = options.code === undefined ? undefined : await readText(options.code, '--code');
          const snapshot = await snapshotOf(ctx, id);
          const body = answerBody(snapshot.awaiting?.kind ?? null, { ...options, code });
          const answer = await ctx.client.json<{ id: string; status: string }>('POST', executionPath(id, '/input'), {
            body,
          });
          // The status answered is the one the answer found; the execution goes on from there.
          ctx.out.show(answer, () => [`${id} answer accepted`]);
        },
      ),
    );

  withFollow(
    program
      .command('retry')
      .description('a new execution of the same task and plan that reuses every finished step before --from')
      .argument('<id>', 'the execution to retry (ended)')
      .requiredOption('--from <step>', 'the step to run again, and what depends on it')
      .option('--code <file>', "Python for that step's first attempt"),
  ).action(
    action(deps, async (ctx, options: RunOptions & { from: string; code?: string }, id: string) => {
      const code = options.code === undefined ? undefined : await readText(options.code, '--code');
      const started = await ctx.client.json<Started>('POST', executionPath(id, '/retry'), {
        body: { fromStep: options.from, code },
      });
      return reportStarted(ctx, started, options);
    }),
  );

  program
    .command('files')
    .description("an execution's files: the uploads and what each attempt wrote; --get downloads")
    .argument('<id>', 'the execution id')
    .option('--get <name>', 'download this file (its name or key; repeat for more)', collect)
    .option('--out <dir>', 'where --get saves', '.')
    .action(
      action(deps, async (ctx, options: { get?: string[]; out: string }, id: string) => {
        const snapshot = await snapshotOf(ctx, id);
        const files = executionFiles(snapshot);
        if (options.get === undefined) {
          ctx.out.show({ id, files }, () =>
            files.length === 0
              ? ['No files.']
              : table([
                  ['NAME', 'SIZE', 'FROM', 'KEY'],
                  ...files.map((file) => [
                    file.name,
                    formatBytes(file.size),
                    file.result ? `${file.from} (result)` : file.from,
                    file.key,
                  ]),
                ]),
          );
          return;
        }
        const chosen = options.get.map((wanted) => pickFile(files, wanted, id));
        const saved = await saveFiles(ctx.client, id, chosen, options.out);
        ctx.out.show({ id, saved }, () => saved.map((file) => `saved ${file.path} (${formatBytes(file.size)})`));
      }),
    );
}
