/**
 * Records one Temporal history per kind of execution into test/fixtures/histories/<name>.json, for
 * the replay test (test/integration/replay.test.ts). Starts its own dev server, an in-process worker
 * with the current workflow code, the gateway and the scripted fake model; drives each execution and
 * fails loudly unless it ends as expected.
 *
 *   npm run record:histories                          records the kinds that have no file yet
 *   npm run record:histories -- multi-step            only that kind (when its file is missing)
 *   npm run record:histories -- --overwrite multi-step   records it again over the old file
 *
 * Existing files are kept unless --overwrite is given: an old history is the proof that today's code
 * still replays what yesterday's code wrote. Re-recording it to make a failing replay pass would
 * throw that proof away; such a change needs `patched()` instead.
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { optionsSchema } from '../src/api/schemas';
import { loadConfig, type Config } from '../src/config';
import { executionInputFrom } from '../src/runs/execution-input';
import { freePort, startDevServer, type DevServer } from '../src/dev/temporal-dev-server';
import type { ExecutionStatus } from '../src/domain/status';
import type { ExecutionSnapshot } from '../src/domain/types';
import { createExecutionWorker } from '../src/worker';
import {
  WORKFLOW_TYPE,
  cancelSignal,
  inputUpdate,
  pauseUpdate,
  resumeUpdate,
  snapshotQuery,
} from '../src/workflows/messages';
import { SALES_CSV } from '../test/support/data';
import { startGateway } from '../test/support/gateway';
import { answer, FakeModel, type Reply } from '../test/support/fake-model';

const HISTORIES_DIR = path.resolve(__dirname, '../test/fixtures/histories');
/** Neutral names instead of pid@host, so the files say nothing about the machine that wrote them. */
const IDENTITY = 'record-histories';
const TASK_QUEUE = 'record-histories';
const EXECUTION_TIMEOUT_MS = 120_000;

const salesFile = { name: 'sales.csv', content: Buffer.from(SALES_CSV).toString('base64') };

const TOTAL_CODE = "import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint('total', df['revenue'].sum())";

/** Prints a marker, then sleeps long enough for a signal or update to arrive while the sandbox runs. */
const slowCode = (seconds: number) =>
  `import time\nprint('sandbox started', flush=True)\ntime.sleep(${seconds})\nprint('sandbox done')`;
const SANDBOX_MARKER = 'sandbox started';

interface Context {
  client: Client;
  fake: FakeModel;
  /** POST /api/executions through the gateway; returns the workflow id. */
  submit(name: string, body: Record<string, unknown>): Promise<string>;
  /** Any other request to the gateway; fails unless it answers `status`. */
  api(method: string, route: string, body: unknown, status: number): Promise<Record<string, unknown>>;
  /** A tag unique to this recording session, for slugs and ids. */
  tag: string;
  config: Config;
}

interface Recording {
  name: string;
  expected: ExecutionStatus;
  /** Scripts the model, starts the execution and steers it; returns its workflow id. */
  drive(context: Context): Promise<string>;
  /** Further checks on the final snapshot: a message when something is off, else null. */
  check?(snapshot: ExecutionSnapshot): string | null;
}

const attemptStatuses = (snapshot: ExecutionSnapshot, stepIndex = 0) =>
  (snapshot.steps[stepIndex]?.attempts ?? []).map((attempt) => attempt.status).join(',');

const expectAttempts =
  (expected: string, stepIndex = 0) =>
  (snapshot: ExecutionSnapshot): string | null => {
    const actual = attemptStatuses(snapshot, stepIndex);
    return actual === expected ? null : `attempts of step ${stepIndex} were [${actual}], expected [${expected}]`;
  };

/** A three-step plan where b and c depend on a. */
function multiStep(name: string): Recording {
  return {
    name,
    expected: 'succeeded',
    drive: async ({ fake, submit }) => {
      // A request cannot give each plan step its own code, so the model writes every step. Answers are
      // chosen by the step the prompt asks for, so the script still fits a workflow that runs b and c
      // at the same time.
      const byStep: Record<string, string> = {
        a: "import pandas as pd\npd.read_csv('sales.csv').groupby('region').revenue.sum().to_csv('totals.csv')",
        b: "import pandas as pd\nt = pd.read_csv('totals.csv')\nprint('top', t.sort_values('revenue').region.iloc[-1])",
        c: "import pandas as pd\nprint('sum', pd.read_csv('totals.csv').revenue.sum())",
      };
      const stepCode: Reply = {
        purpose: 'code',
        content: (request) => {
          const step = /Write the code for step "([^"]+)"/.exec(request.user)?.[1] ?? '';
          let code = byStep[step];
          if (code === undefined) {
            fake.problems.push(`fake model: no code scripted for step "${step}"`);
            code = `raise SystemExit('no code scripted for step ${step}')`;
          }
          return `\`\`\`python\n${code}\n\`\`\``;
        },
      };
      fake.script(stepCode, stepCode, stepCode, answer.analysis('North leads; revenue totals 835.'));
      return submit(name, {
        task: 'Total revenue by region, then name the top region and the grand total.',
        files: [salesFile],
        plan: {
          steps: [
            { id: 'a', title: 'Total revenue by region into totals.csv', dependsOn: [] },
            { id: 'b', title: 'Name the region with the most revenue', dependsOn: ['a'] },
            { id: 'c', title: 'Print the grand total', dependsOn: ['a'] },
          ],
        },
      });
    },
    check: (snapshot) => {
      const statuses = snapshot.steps.map((step) => `${step.id}:${step.status}`).join(',');
      return statuses === 'a:succeeded,b:succeeded,c:succeeded' ? null : `steps ended [${statuses}]`;
    },
  };
}

const RECORDINGS: Recording[] = [
  {
    name: 'one-step',
    expected: 'succeeded',
    drive: async ({ fake, submit }) => {
      fake.script(answer.plan(), answer.code(TOTAL_CODE), answer.analysis('Total revenue is 835.'));
      return submit('one-step', { task: 'What is the total revenue?', files: [salesFile] });
    },
    check: expectAttempts('succeeded'),
  },
  {
    // The files profiled in the sandbox first; a model the endpoint does not serve hands over to the
    // next of the chain; the plan asked again after an invalid answer; code and analysis streamed.
    name: 'profiled-chain',
    expected: 'succeeded',
    drive: async ({ fake, submit }) => {
      fake.script(
        { purpose: 'plan', status: 404, message: 'The model `gone-model` does not exist', code: 'model_not_found' },
        { purpose: 'plan', content: '{"steps": []}' },
        answer.plan(),
        answer.code(TOTAL_CODE),
        answer.analysis('Total revenue is 835.'),
      );
      return submit('profiled-chain', {
        task: 'What is the total revenue?',
        files: [salesFile],
        options: { models: ['gone-model', 'fake-model'] },
      });
    },
    check: (snapshot) => {
      if (snapshot.dataProfile?.files[0]?.format !== 'csv') return 'the file was not profiled as CSV';
      const calls = snapshot.timeline.filter((event) => event.event === 'MODEL_CALL').length;
      return calls === 4 ? expectAttempts('succeeded')(snapshot) : `${calls} model calls on the timeline, not 4`;
    },
  },
  {
    name: 'code-retry',
    expected: 'succeeded',
    drive: async ({ fake, submit }) => {
      fake.script(
        answer.plan(),
        answer.code("import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint(df['revenu'].sum())"),
        answer.code(TOTAL_CODE),
        answer.analysis('Total revenue is 835.'),
      );
      return submit('code-retry', { task: 'What is the total revenue?', files: [salesFile] });
    },
    check: expectAttempts('failed,succeeded'),
  },
  {
    name: 'failed',
    expected: 'failed',
    drive: async ({ fake, submit }) => {
      const failing = "raise ValueError('the revenue column holds text')";
      fake.script(
        answer.plan(),
        answer.code(failing),
        answer.code(failing),
        answer.code(failing),
        answer.analysis('The revenue column holds text, so it cannot be summed.'),
      );
      return submit('failed', { task: 'Sum the revenue.', options: { maxAttempts: 3 } });
    },
    check: expectAttempts('failed,failed,failed'),
  },
  {
    name: 'cancelled',
    expected: 'cancelled',
    drive: async ({ client, submit }) => {
      const id = await submit('cancelled', { code: slowCode(60) });
      const handle = client.workflow.getHandle(id);
      await waitForSandboxOutput(client, handle, SANDBOX_MARKER);
      await handle.signal(cancelSignal, { reason: 'no longer needed' });
      return id;
    },
    check: (snapshot) => (snapshot.error?.message === 'no longer needed' ? null : 'the cancel reason was lost'),
  },
  {
    name: 'paused-resumed',
    expected: 'succeeded',
    drive: async ({ client, fake, submit }) => {
      fake.script(answer.plan(), answer.code(slowCode(2)), answer.analysis('The sandbox ran and finished.'));
      const id = await submit('paused-resumed', { task: 'Run slowly.' });
      const handle = client.workflow.getHandle(id);
      await waitForSandboxOutput(client, handle, SANDBOX_MARKER);
      const paused = await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'lunch' }] });
      if (paused !== 'paused') throw new Error(`pause answered ${paused}`);
      // Resume only after the run has ended inside the pause, so the history shows the wait.
      await waitForSnapshot(handle, (snapshot) => snapshot.status === 'paused' && attemptStatuses(snapshot) !== '');
      await handle.executeUpdate(resumeUpdate, { args: [{}] });
      return id;
    },
    check: expectAttempts('succeeded'),
  },
  {
    name: 'approval',
    expected: 'succeeded',
    drive: async ({ client, fake, submit }) => {
      fake.script(answer.plan(), answer.code("print('approved work')"), answer.analysis('Done.'));
      const id = await submit('approval', { task: 'Do approved work.', options: { requireApproval: true } });
      const handle = client.workflow.getHandle(id);
      await waitForSnapshot(handle, (snapshot) => snapshot.awaiting?.kind === 'approval');
      await handle.executeUpdate(inputUpdate, { args: [{ approve: true }] });
      return id;
    },
    check: expectAttempts('succeeded'),
  },
  {
    name: 'recovered',
    expected: 'succeeded',
    drive: async ({ client, fake, submit }) => {
      fake.script(
        answer.plan(),
        answer.code("raise KeyError('revenu')"),
        answer.code("print('revenue', 42)"),
        answer.analysis('Revenue is 42.'),
      );
      const id = await submit('recovered', {
        task: 'Report revenue.',
        options: { maxAttempts: 1, onExhausted: 'ask' },
      });
      const handle = client.workflow.getHandle(id);
      await waitForSnapshot(handle, (snapshot) => snapshot.awaiting?.kind === 'recovery');
      await handle.executeUpdate(inputUpdate, { args: [{ input: { hint: 'the column is called revenue' } }] });
      return id;
    },
    check: expectAttempts('failed,succeeded'),
  },
  // Recorded before the core was reshaped into pure deciders: each proves that the reshaped code still
  // replays that path as the earlier code wrote it.
  {
    name: 'budget-raised',
    expected: 'succeeded',
    drive: async ({ client, fake, submit }) => {
      fake.script(answer.plan(), answer.code(TOTAL_CODE), answer.analysis('Total revenue is 835.'));
      const id = await submit('budget-raised', {
        task: 'What is the total revenue?',
        files: [salesFile],
        options: { model: 'gpt-4o', budgetUsd: 0.000001 },
      });
      const handle = client.workflow.getHandle(id);
      await waitForSnapshot(handle, (snapshot) => snapshot.awaiting?.kind === 'budget');
      await handle.executeUpdate(inputUpdate, { args: [{ approve: true, input: { budgetUsd: 10 } }] });
      return id;
    },
    check: expectAttempts('succeeded'),
  },
  {
    name: 'budget-stopped',
    expected: 'cancelled',
    drive: async ({ client, submit }) => {
      const id = await submit('budget-stopped', {
        task: 'What is the total revenue?',
        options: { model: 'gpt-4o', budgetUsd: 0.000001 },
      });
      const handle = client.workflow.getHandle(id);
      await waitForSnapshot(handle, (snapshot) => snapshot.awaiting?.kind === 'budget');
      await handle.executeUpdate(inputUpdate, { args: [{ approve: false }] });
      return id;
    },
  },
  {
    name: 'skipped',
    expected: 'succeeded',
    drive: async ({ fake, submit }) => {
      // a fails and is skipped with its dependent b; c fails and is skipped, but its dependent d runs.
      const byStep = {
        a: "raise ValueError('a broke')",
        b: "print('b must not run')",
        c: "raise ValueError('c broke')",
        d: "print('d ran')",
      };
      fake.script(answer.codeForStep(byStep), answer.codeForStep(byStep), answer.codeForStep(byStep));
      fake.script(answer.analysis('Only d ran.'));
      const skip = (dependents: 'skip' | 'run') => ({ CODE_ERROR: { strategy: 'skip', dependents } });
      return submit('skipped', {
        task: 'Run what can run.',
        plan: {
          steps: [
            { id: 'a', title: 'A', recovery: skip('skip') },
            { id: 'b', title: 'B', dependsOn: ['a'] },
            { id: 'c', title: 'C', recovery: skip('run') },
            { id: 'd', title: 'D', dependsOn: ['c'] },
          ],
        },
      });
    },
    check: (snapshot) => {
      const statuses = snapshot.steps.map((step) => `${step.id}:${step.status}`).join(',');
      return statuses === 'a:skipped,b:skipped,c:skipped,d:succeeded' ? null : `steps ended [${statuses}]`;
    },
  },
  {
    name: 'aborted',
    expected: 'failed',
    drive: async ({ submit }) =>
      submit('aborted', {
        code: "raise ValueError('stop here')",
        options: { maxAttempts: 3, recovery: { CODE_ERROR: { strategy: 'abort' } } },
      }),
    check: expectAttempts('failed'),
  },
  {
    name: 'fallback-code',
    expected: 'succeeded',
    drive: async ({ submit }) =>
      submit('fallback-code', {
        code: "raise ValueError('primary broke')",
        options: { recovery: { CODE_ERROR: { strategy: 'fallback', code: "print('fallback ran')" } } },
      }),
    check: expectAttempts('failed,succeeded'),
  },
  {
    name: 'fallback-model',
    expected: 'succeeded',
    drive: async ({ fake, submit }) => {
      fake.script(
        answer.plan(),
        answer.code("raise ValueError('first model broke')"),
        answer.code("print('second model ran')"),
        answer.analysis('The second model did it.'),
      );
      return submit('fallback-model', {
        task: 'Print something.',
        options: { recovery: { CODE_ERROR: { strategy: 'fallback', model: 'fake-model-large' } } },
      });
    },
    check: expectAttempts('failed,succeeded'),
  },
  {
    name: 'retry-backoff',
    expected: 'succeeded',
    drive: async ({ fake, submit }) => {
      fake.script(
        answer.plan(),
        answer.code("raise RuntimeError('flaky')"),
        answer.code("print('steady')"),
        answer.analysis('It ran on the second program.'),
      );
      return submit('retry-backoff', {
        task: 'Run until it works.',
        options: {
          maxAttempts: 3,
          recovery: { CODE_ERROR: { strategy: 'retry', maxRetries: 1, backoffMs: 200 } },
        },
      });
    },
    check: expectAttempts('failed,failed,succeeded'),
  },
  {
    name: 'deadline',
    expected: 'timed_out',
    drive: async ({ submit }) =>
      submit('deadline', { code: slowCode(30), options: { timeoutMs: 3000, stepTimeoutMs: 60_000 } }),
  },
  {
    name: 'input-timeout',
    expected: 'timed_out',
    drive: async ({ fake, submit }) => {
      fake.script(answer.plan());
      return submit('input-timeout', {
        task: 'Wait for an approval that never comes.',
        options: { requireApproval: true, inputTimeoutMs: 1000 },
      });
    },
  },
  {
    name: 'failing-branch',
    expected: 'failed',
    drive: async ({ fake, submit }) => {
      // b's model call is refused for good while a runs in the sandbox.
      const byStep = { a: slowCode(3), b: { status: 401, message: 'the key was revoked' } };
      fake.script(answer.codeForStep(byStep), answer.codeForStep(byStep));
      return submit('failing-branch', {
        task: 'Two things at once.',
        plan: {
          steps: [
            { id: 'a', title: 'A' },
            { id: 'b', title: 'B' },
          ],
        },
      });
    },
  },
  {
    name: 'given-code-regenerated',
    expected: 'succeeded',
    drive: async ({ fake, submit }) => {
      // Before `options.repair`, failed code from the caller was rewritten by the model.
      fake.script(answer.code("print('rewritten')"));
      return submit('given-code-regenerated', { code: "raise RuntimeError('x')" });
    },
    check: expectAttempts('failed,succeeded'),
  },
  // Recorded after the reshaped core (patch `core-2`): its new paths.
  {
    name: 'signals',
    expected: 'succeeded',
    drive: async ({ client, submit }) => {
      const id = await submit('signals', { code: slowCode(3), options: { requireApproval: true } });
      const handle = client.workflow.getHandle(id);
      await waitForSnapshot(handle, (snapshot) => snapshot.awaiting?.kind === 'approval');
      await handle.signal('input', { approve: 'maybe' }); // refused, recorded
      await handle.signal('input', { approve: true });
      await waitForSandboxOutput(client, handle, SANDBOX_MARKER);
      await handle.signal('resume', {}); // refused: it is running
      await handle.signal('pause', { reason: 'by signal' });
      await waitForSnapshot(handle, (snapshot) => snapshot.status === 'paused' && attemptStatuses(snapshot) !== '');
      await handle.signal('resume', {});
      return id;
    },
    check: (snapshot) => {
      const refused = snapshot.timeline.filter((event) => event.event === 'SIGNAL_REFUSED').length;
      return refused === 2 ? expectAttempts('succeeded')(snapshot) : `${refused} refused signals, expected 2`;
    },
  },
  {
    name: 'branch-thrown',
    expected: 'failed',
    drive: async ({ fake, submit }) => {
      const byStep = { a: slowCode(60), b: "raise ValueError('b broke')" };
      fake.script(answer.codeForStep(byStep), answer.codeForStep(byStep));
      fake.script({ purpose: 'code', status: 401, message: 'the key was revoked' });
      return submit('branch-thrown', {
        task: 'Two things at once.',
        plan: {
          steps: [
            { id: 'a', title: 'A' },
            { id: 'b', title: 'B' },
          ],
        },
      });
    },
    check: (snapshot) =>
      snapshot.timeline.some((event) => event.description === 'step a was stopped: step b ended the run')
        ? null
        : 'step a was not stopped',
  },
  {
    name: 'branch-aborted',
    expected: 'failed',
    drive: async ({ fake, submit }) => {
      const byStep = { a: slowCode(60), b: "raise ValueError('stop everything')" };
      fake.script(answer.codeForStep(byStep), answer.codeForStep(byStep), answer.analysis('It stopped.'));
      return submit('branch-aborted', {
        task: 'Two things at once.',
        plan: {
          steps: [
            { id: 'a', title: 'A' },
            { id: 'b', title: 'B', recovery: { CODE_ERROR: { strategy: 'abort' } } },
          ],
        },
      });
    },
  },
  {
    name: 'caller-code-failed',
    expected: 'failed',
    drive: async ({ submit }) => submit('caller-code-failed', { code: "raise RuntimeError('x')" }),
    check: expectAttempts('failed'),
  },
  {
    name: 'caller-code-repaired',
    expected: 'succeeded',
    drive: async ({ fake, submit }) => {
      fake.script(answer.code("print('repaired')"));
      return submit('caller-code-repaired', { code: "raise RuntimeError('x')", options: { repair: true } });
    },
    check: expectAttempts('failed,succeeded'),
  },
  {
    name: 'caller-code-refused',
    expected: 'failed',
    drive: async ({ submit }) => submit('caller-code-refused', { code: 'import socket' }),
    check: expectAttempts('failed'),
  },
  {
    name: 'scheduled-run',
    expected: 'succeeded',
    drive: async (context) => {
      const slug = `tick-${context.tag}`;
      context.fake.script(answer.analysis('It said tick.'));
      await context.api('POST', '/api/tasks', { ...tickTask, slug }, 201);
      return scheduledRun(context, slug);
    },
    check: expectAttempts('succeeded'),
  },
  {
    name: 'scheduled-task-unavailable',
    expected: 'failed',
    drive: async (context) => {
      const slug = `gone-${context.tag}`;
      await context.api('POST', '/api/tasks', { ...tickTask, slug }, 201);
      const changed = { ...tickTask, parameters: { properties: { label: { type: 'integer' } }, required: ['label'] } };
      return scheduledRun(context, slug, () => context.api('PUT', `/api/tasks/${slug}`, changed, 200));
    },
    check: (snapshot) =>
      snapshot.error?.code === 'TASK_UNAVAILABLE' ? null : `error ${snapshot.error?.code}, expected TASK_UNAVAILABLE`,
  },
  {
    name: 'notified',
    expected: 'succeeded',
    drive: async ({ submit }) => {
      // A receiver for the execution's events; the deliveries themselves are other workflows.
      const receiver = createServer((_req, res) => res.writeHead(200).end('ok'));
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      receiver.unref();
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;
      return submit('notified', { code: "print('hello')", options: { notify: { url } } });
    },
    check: expectAttempts('succeeded'),
  },
  {
    name: 'slotted',
    expected: 'succeeded',
    drive: async ({ client, config, tag }) => {
      // Started directly, as a gateway with TENANT_MAX_RUNNING would: the run waits for a slot first.
      const id = `exec-slotted-${tag}`;
      const limited = { ...config, maxRunningPerTenant: 5 };
      const submission = { ...emptySubmission, code: "print('hello')", options: optionsSchema.parse({}) };
      const input = { ...executionInputFrom(limited, submission, id), files: [], tenant: 'default' };
      await client.workflow.start(WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId: id, args: [input] });
      return id;
    },
    check: expectAttempts('succeeded'),
  },
  {
    name: 'custom-strategies',
    expected: 'succeeded',
    drive: async ({ submit }) =>
      submit('custom-strategies', {
        code: "raise RuntimeError('source unavailable')",
        options: {
          maxAttempts: 4,
          recoveryStrategies: [
            {
              id: 'flaky',
              name: 'Rerun a flaky source',
              applicableErrors: ['CODE_ERROR'],
              match: 'source unavailable',
              action: 'RETRY',
              backoff: { initialMs: 50 },
            },
            {
              id: 'then-fallback',
              name: 'Then the fallback',
              applicableErrors: ['CODE_ERROR'],
              action: 'FALLBACK',
              fallback: { code: "print('fallback ran')" },
            },
          ],
        },
      }),
    check: expectAttempts('failed,failed,succeeded'),
  },
  {
    // Recorded after thrown failures reached strategies of one's own (behind 'thrown-to-strategies').
    name: 'thrown-to-strategy',
    expected: 'succeeded',
    drive: async ({ fake, submit }) => {
      fake.script(
        answer.plan(),
        { purpose: 'code', status: 401, message: 'Incorrect API key provided' },
        answer.analysis('The fallback printed 42.'),
      );
      return submit('thrown-to-strategy', {
        task: 'Answer even when code generation is refused.',
        options: {
          recoveryStrategies: [
            {
              id: 'model-down',
              name: 'When the model refuses',
              applicableErrors: ['LLM_ERROR'],
              action: 'FALLBACK',
              fallback: { code: 'print(6 * 7)' },
            },
          ],
        },
      });
    },
    check: expectAttempts('succeeded'),
  },
  multiStep('multi-step'),
  // Recorded after independent steps started to run in parallel (behind the 'parallel-steps' patch).
  multiStep('multi-step-parallel'),
  {
    // The second run of an execution restored in place: step `a` taken over from the first run's
    // checkpoint, `b` run with a person's code, a checkpoint made on demand while it runs.
    name: 'restored',
    expected: 'succeeded',
    drive: async ({ client, fake, submit, api }) => {
      const code = answer.codeForStep({
        a: "import pandas as pd\npd.read_csv('sales.csv').groupby('region').revenue.sum().to_csv('totals.csv')\nlen(pd.read_csv('totals.csv'))",
        b: "raise ValueError('report template missing')",
      });
      fake.script(code, code, answer.analysis('The report step failed.'));
      const id = await submit('restored', {
        task: 'Total revenue by region, then report it.',
        files: [salesFile],
        plan: {
          steps: [
            { id: 'a', title: 'Total revenue by region into totals.csv', dependsOn: [] },
            { id: 'b', title: 'Report the totals', dependsOn: ['a'] },
          ],
        },
        options: { maxAttempts: 1 },
      });
      const first = (await client.workflow.getHandle(id).result()) as ExecutionSnapshot;
      if (first.status !== 'failed') throw new Error(`the first run ended ${first.status}, expected failed`);
      fake.script(answer.analysis('The totals are reported.'));
      await api('POST', `/api/executions/${id}/restore`, { checkpointId: 'cp-1.1', code: slowCode(2) }, 202);
      await waitForSandboxOutput(client, client.workflow.getHandle(id), SANDBOX_MARKER);
      await api('POST', `/api/executions/${id}/checkpoints`, {}, 201);
      return id;
    },
    check: (snapshot) => {
      const a = snapshot.steps.find((step) => step.id === 'a')?.attempts[0];
      const b = snapshot.steps.find((step) => step.id === 'b')?.attempts[0];
      if (a?.reused !== true) return 'step a was not reused';
      return b?.author === 'person' && b.status === 'succeeded' ? null : "step b did not run the person's code";
    },
  },
  {
    // Alerts: the request's condition on the step's clock (fired by the workflow's timer, resolved at
    // the step's end), one on the sandbox's CPU (fired and resolved through the `alertSample` signal),
    // and one set with the `setAlert` update while the code runs (fired at its next evaluation).
    name: 'alerted',
    expected: 'succeeded',
    drive: async ({ client, submit, api }) => {
      const id = await submit('alerted', {
        code: "import time\nprint('sandbox started', flush=True)\nt = time.time()\nwhile time.time() < t + 2:\n    pass\nprint('sandbox done')",
        options: {
          alerts: [
            { metric: 'step_duration', operator: 'gt', threshold: 500 },
            { metric: 'cpu_usage', operator: 'gt', threshold: 50 },
          ],
        },
      });
      await waitForSandboxOutput(client, client.workflow.getHandle(id), SANDBOX_MARKER);
      await api('POST', `/api/executions/${id}/alerts`, { metric: 'attempts', operator: 'lt', threshold: 1 }, 201);
      return id;
    },
    check: (snapshot) => {
      const fired = snapshot.timeline.filter((event) => event.event === 'ALERT_TRIGGERED').map((e) => e.data?.alertId);
      const resolved = snapshot.timeline.filter((event) => event.event === 'ALERT_RESOLVED').length;
      if (!['alert-1', 'alert-2', 'alert-3'].every((alertId) => fired.includes(alertId))) {
        return `not every alert fired: ${fired.join(', ')}`;
      }
      return resolved >= 2 ? null : `only ${resolved} alerts resolved`;
    },
  },
];

const emptySubmission = {
  task: null,
  code: null,
  plan: undefined,
  files: [],
  triggeredBy: 'api' as const,
  idempotencyKey: null,
};

const tickTask = {
  title: 'Tick',
  description: 'Say tick for {{label}}.',
  parameters: { properties: { label: { type: 'string' } }, required: ['label'] },
  code: "print('tick')",
};

/**
 * Makes a paused schedule of `slug` that runs the latest version, lets `change` alter the task, then
 * triggers one run and returns its workflow id.
 */
async function scheduledRun(context: Context, slug: string, change?: () => Promise<unknown>): Promise<string> {
  const made = await context.api(
    'POST',
    `/api/tasks/${slug}/schedules`,
    { every: '1h', inputs: { label: 'north' }, paused: true, version: 'latest' },
    201,
  );
  await change?.();
  await context.api('POST', `/api/tasks/${slug}/schedules/${String(made.id)}/trigger`, undefined, 202);
  const handle = context.client.schedule.getHandle(String(made.id));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const [run] = (await handle.describe()).info.recentActions;
    if (run) {
      await handle.delete();
      return run.action.workflow.workflowId;
    }
    await delay(100);
  }
  throw new Error(`schedule ${String(made.id)} never started a run`);
}

/** Polls the `snapshot` query until `until` holds. */
async function waitForSnapshot(
  handle: WorkflowHandle,
  until: (snapshot: ExecutionSnapshot) => boolean,
  timeoutMs = 60_000,
): Promise<ExecutionSnapshot> {
  const deadline = Date.now() + timeoutMs;
  let last: ExecutionSnapshot | null = null;
  while (Date.now() < deadline) {
    last = await handle.query(snapshotQuery);
    if (until(last)) return last;
    await delay(100);
  }
  throw new Error(`${handle.workflowId} did not reach the expected state; last status: ${last?.status}`);
}

/**
 * Waits until the sandbox activity has reported `marker` in its heartbeat, so a signal or update sent
 * next arrives while the code really runs, not before the activity started.
 */
async function waitForSandboxOutput(client: Client, handle: WorkflowHandle, marker: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  const converter = client.options.loadedDataConverter.payloadConverter;
  while (Date.now() < deadline) {
    const description = await handle.describe();
    const pending = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'executeCode');
    const payload = pending?.heartbeatDetails?.payloads?.[0];
    if (payload && String(converter.fromPayload<{ tail?: string }>(payload)?.tail ?? '').includes(marker)) return;
    await delay(100);
  }
  throw new Error(`${handle.workflowId}: the sandbox never printed "${marker}"`);
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no end within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function parseArgs(argv: string[]): { overwrite: boolean; names: string[] } {
  const known = new Set(RECORDINGS.map((recording) => recording.name));
  const overwrite = argv.includes('--overwrite');
  const names = argv.filter((arg) => arg !== '--overwrite');
  const unknown = names.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new Error(`unknown recording(s) ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  }
  return { overwrite, names: names.length > 0 ? names : [...known] };
}

async function main(): Promise<void> {
  const { overwrite, names } = parseArgs(process.argv.slice(2));
  mkdirSync(HISTORIES_DIR, { recursive: true });
  const todo = RECORDINGS.filter((recording) => names.includes(recording.name));
  const kept = todo.filter((recording) => !overwrite && existsSync(fileFor(recording.name)));
  for (const recording of kept) {
    console.log(
      `kept   ${path.relative(process.cwd(), fileFor(recording.name))} (exists; --overwrite to record it again)`,
    );
  }
  const recordings = todo.filter((recording) => !kept.includes(recording));
  if (recordings.length === 0) return;

  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'record-histories-'));
  // The sandbox runs as other users, which must be able to reach the uploaded files.
  chmodSync(dataDir, 0o755);
  const fake = new FakeModel();
  let devServer: DevServer | null = null;
  let nativeConnection: NativeConnection | null = null;
  let clientConnection: Connection | null = null;
  let worker: { worker: Worker; running: Promise<void>; close: () => Promise<void> } | null = null;
  let http: Server | null = null;
  try {
    const server = await startDevServer({ port: await freePort(), startTimeoutMs: 120_000 });
    devServer = server;
    await fake.start();
    const config = loadConfig({
      TEMPORAL_ADDRESS: server.address,
      TASK_QUEUE,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'fake-key',
      LLM_MODEL: 'fake-model',
      WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    nativeConnection = await NativeConnection.connect({ address: server.address });
    // Bundled from src/workflows at start: the histories are written by the code as it is now.
    const created = await createExecutionWorker({
      config,
      connection: nativeConnection,
      tuning: { identity: IDENTITY },
    });
    const running = created.worker.run();
    worker = { ...created, running };
    // Ctrl-C makes the Temporal runtime stop the worker: give up at once instead of waiting for a result.
    const workerStopped = running.then(() => {
      throw new Error('the worker stopped');
    });
    workerStopped.catch(() => undefined);
    clientConnection = await Connection.connect({ address: server.address });
    const client = new Client({
      connection: clientConnection,
      namespace: config.temporal.namespace,
      identity: IDENTITY,
    });
    const gateway = await startGateway(client, config);
    http = gateway.server;
    const baseUrl = gateway.baseUrl;
    const runTag = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

    const context: Context = {
      client,
      fake,
      submit: async (name, body) => {
        // The idempotency key makes a readable, unique workflow id: exec-<name>-<run tag>.
        const response = await fetch(`${baseUrl}/api/executions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `${name}-${runTag}` },
          body: JSON.stringify(body),
        });
        const text = await response.text();
        if (response.status !== 202)
          throw new Error(`${name}: POST /api/executions answered ${response.status}: ${text}`);
        return (JSON.parse(text) as { id: string }).id;
      },
      api: async (method, route, body, status) => {
        const response = await fetch(`${baseUrl}${route}`, {
          method,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await response.text();
        if (response.status !== status) throw new Error(`${method} ${route} answered ${response.status}: ${text}`);
        return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
      },
      tag: runTag,
      config,
    };

    for (const recording of recordings) {
      const started = Date.now();
      fake.reset();
      const run = async () => {
        const id = await recording.drive(context);
        return { id, snapshot: (await client.workflow.getHandle(id).result()) as ExecutionSnapshot };
      };
      const { id, snapshot } = await withTimeout(
        Promise.race([run(), workerStopped]),
        EXECUTION_TIMEOUT_MS,
        recording.name,
      );
      const handle = client.workflow.getHandle(id);
      const problems = [
        snapshot.status === recording.expected ? null : `ended ${snapshot.status}, expected ${recording.expected}`,
        recording.check?.(snapshot) ?? null,
        ...fake.problems,
        fake.pending === 0 ? null : `${fake.pending} scripted model answer(s) were never asked for`,
      ].filter((problem): problem is string => problem !== null);
      if (problems.length > 0) {
        throw new Error(`${recording.name} (${id}): ${problems.join('; ')}; error: ${JSON.stringify(snapshot.error)}`);
      }
      const history = await handle.fetchHistory();
      const file = fileFor(recording.name);
      const json = `${historyJson(history)}\n`;
      writeFileSync(file, json);
      const kb = (Buffer.byteLength(json) / 1024).toFixed(1);
      console.log(
        `wrote  ${path.relative(process.cwd(), file)}: ${snapshot.status}, ${history.events?.length ?? 0} events, ` +
          `${kb} KB, ${Date.now() - started} ms`,
      );
    }
  } finally {
    // Each step on its own, so one failure does not leave the dev server or the temp folder behind.
    const cleanUp = async (what: string, step: () => Promise<unknown> | void) => {
      try {
        await step();
      } catch (error) {
        console.error(`record-histories: cleaning up ${what}:`, error);
      }
    };
    const listening = http;
    if (listening) {
      await cleanUp('the gateway', () => {
        listening.closeAllConnections();
        return new Promise<void>((resolve) => listening.close(() => resolve()));
      });
    }
    const started = worker;
    if (started) {
      await cleanUp('the worker', async () => {
        if (started.worker.getState() === 'RUNNING') started.worker.shutdown();
        await started.running;
        await started.close();
      });
    }
    await cleanUp('the client connection', () => clientConnection?.close());
    await cleanUp('the worker connection', () => nativeConnection?.close());
    await cleanUp('the fake model', () => fake.stop());
    await cleanUp('the dev server', () => devServer?.stop());
    await cleanUp('the data folder', () => rmSync(dataDir, { recursive: true, force: true }));
  }
}

/**
 * `historyToJSON` of @temporalio/common, or the same conversion with the protobufjs copy that
 * @temporalio/proto was built with. npm gives common and proto separate copies of protobufjs 8 when
 * another package keeps protobufjs 7 at the top of node_modules (@grpc/proto-loader does here); the
 * SDK's function then fails its `instanceof Type` check with "type must be a Type".
 */
function historyJson(history: History): string {
  try {
    return historyToJSON(history);
  } catch (error) {
    if (!(error instanceof TypeError && error.message === 'type must be a Type')) throw error;
  }
  const protojson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as {
    toJson(type: unknown, message: unknown): unknown;
  };
  const root = patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown };
  const message = proto.temporal.api.history.v1.History.fromObject(history);
  return JSON.stringify(protojson.toJson(root.lookupType('temporal.api.history.v1.History'), message), null, 2);
}

function fileFor(name: string): string {
  return path.join(HISTORIES_DIR, `${name}.json`);
}

main().catch((error: unknown) => {
  console.error(`record-histories: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
