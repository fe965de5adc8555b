/**
 * Checkpoints (made at each finished step and on demand) and the restore of an execution in place:
 * a new Temporal run of the same workflow id that takes the checkpoint's finished steps over, against
 * the real dev server, sandbox and gateway, with the scripted fake model.
 */
import type { Checkpoint } from '../../src/domain/checkpoints';
import type { ExecutionSnapshot } from '../../src/domain/types';
import type { ExecutionRun } from '../../src/api/execution-service';
import { answer } from '../support/fake-model';
import { base64, useHarness } from '../support/harness';

const OPERATOR = 'operator-secret-for-restore-tests';

const CHAIN = {
  steps: [
    { id: 'load', title: 'Load and clean', dependsOn: [] },
    { id: 'totals', title: 'Totals', dependsOn: ['load'] },
    { id: 'report', title: 'Report', dependsOn: ['totals'] },
  ],
};

const CODE = {
  load:
    "import pandas as pd, ml\ndf = pd.read_csv('raw.csv').dropna()\ndf.to_csv('clean.csv', index=False)\n" +
    "ml.json({'rows': len(df)})\nlen(df)",
  totals: "import pandas as pd\npd.read_csv('clean.csv').sum().to_frame('total').to_csv('totals.csv')\nprint('summed')",
  report: "print(open('totals.csv').read())\nopen('report.txt', 'w').write('reported')",
};

type Detail = ExecutionSnapshot & { runId: string; runs: ExecutionRun[] };

describe('checkpoints and restore in place', () => {
  const harness = useHarness({ env: { ADMIN_API_KEY: OPERATOR } });
  harness.defaultHeaders = { authorization: `Bearer ${OPERATOR}` };

  const detail = async (id: string, headers: Record<string, string> = {}) => {
    const response = await harness.request('GET', `/api/executions/${id}`, undefined, headers);
    expect(response.status).toBe(200);
    return response.body as Detail;
  };
  const checkpointsOf = async (id: string) => {
    const response = await harness.request('GET', `/api/executions/${id}/checkpoints`);
    expect(response.status).toBe(200);
    return response.body as { checkpoints: Checkpoint[]; steps: Array<{ stepId: string }> };
  };

  test('each finished step is a checkpoint; a failed execution restored from one reuses its steps', async () => {
    harness.fake.script(
      answer.codeForStep(CODE),
      answer.codeForStep(CODE),
      answer.codeForStep({ report: "raise ValueError('report template missing')" }),
      answer.analysis('The report step failed.'),
    );
    const started = await harness.request('POST', '/api/executions', {
      task: 'Clean, total, report.',
      plan: CHAIN,
      files: [{ name: 'raw.csv', content: base64('a,b\n1,2\n,3\n4,5\n') }],
      options: { maxAttempts: 1 },
    });
    expect(started.status).toBe(202);
    const id = started.body.id as string;
    const failed = await harness.waitForEnd(id);
    expect(failed.status).toBe('failed');
    expect(failed.error?.stepId).toBe('report');
    const first = await detail(id);
    expect(first.runs).toEqual([
      { runId: first.runId, run: 1, status: 'failed', startedAt: expect.any(String), closedAt: expect.any(String) },
    ]);

    const { checkpoints, steps } = await checkpointsOf(id);
    expect(checkpoints.map((checkpoint) => checkpoint.id)).toEqual(['cp-1.1', 'cp-1.2']);
    expect(steps.map((step) => step.stepId)).toEqual(['load', 'totals']);
    const [afterLoad, afterTotals] = checkpoints;
    expect(afterLoad).toMatchObject({
      executionId: id,
      timestamp: expect.any(String),
      state: {
        currentTaskId: 'load',
        completedTasks: ['load'],
        taskStates: {
          load: { status: 'succeeded', attempts: 1 },
          totals: { status: 'pending', attempts: 0 },
          report: { status: 'pending', attempts: 0 },
        },
        // The trailing expression's value and the ml.json value the step published.
        variables: { load: { result: '2', json: [{ rows: 2 }] } },
      },
      metadata: { reason: 'step_finished', run: 1, stepId: 'load', attempt: 1 },
    });
    expect(afterTotals.state.completedTasks).toEqual(['load', 'totals']);
    // totals published nothing but its files and output: it has no variables.
    expect(Object.keys(afterTotals.state.variables)).toEqual(['load']);
    expect(afterTotals.metadata.variablesBytes).toBe(JSON.stringify(afterTotals.state.variables).length);
    const created = failed.timeline.filter((event) => event.event === 'CHECKPOINT_CREATED');
    expect(created.map((event) => event.data?.checkpointId)).toEqual(['cp-1.1', 'cp-1.2']);

    harness.fake.reset();
    harness.fake.script(answer.analysis('The totals are reported.'));
    const restored = await harness.request('POST', `/api/executions/${id}/restore`, {
      checkpointId: 'cp-1.2',
      code: CODE.report,
    });
    expect(restored.status).toBe(202);
    expect(restored.body).toMatchObject({ id, run: 2, previousRunId: first.runId, checkpointId: 'cp-1.2' });
    expect(restored.body.runId).not.toBe(first.runId);

    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('succeeded');
    expect(done.id).toBe(id);
    // Nothing planned, written or run again for the reused steps: the only model call is the analysis,
    // the only sandbox run the report's.
    expect(harness.fake.requests.map((request) => request.purpose)).toEqual(['analysis']);
    expect(done.steps.filter((step) => step.attempts[0]?.reused).map((step) => step.id)).toEqual(['load', 'totals']);
    expect(done.resourceUsage.map((usage) => usage.stepId)).toEqual(['report']);
    expect(done.resourceUsage[0].resourceId).toBe(`${id}/2/report/1`);
    const report = done.steps.find((step) => step.id === 'report')!.attempts[0];
    expect(report).toMatchObject({ author: 'person', status: 'succeeded' });
    expect(report.stdout).toContain('a,5.0');
    const restoring = done.timeline.find((event) => event.event === 'RECOVERY_INITIATED');
    expect(restoring?.description).toBe('restoring from checkpoint cp-1.2');
    expect(restoring?.data).toMatchObject({
      strategy: 'restore_checkpoint',
      previousRunId: first.runId,
      run: 2,
      reused: ['load', 'totals'],
      withCode: ['report'],
    });

    // GET shows the latest run and lists both.
    const after = await detail(id);
    expect(after.runId).toBe(restored.body.runId);
    expect(after.runs.map((run) => [run.run, run.runId, run.status])).toEqual([
      [1, first.runId, 'failed'],
      [2, restored.body.runId, 'succeeded'],
    ]);
    // The run's checkpoints: the two reused steps, then the report.
    const second = await checkpointsOf(id);
    expect(second.checkpoints.map((checkpoint) => [checkpoint.id, checkpoint.metadata.reason])).toEqual([
      ['cp-2.1', 'step_reused'],
      ['cp-2.2', 'step_reused'],
      ['cp-2.3', 'step_finished'],
    ]);
    expect(second.checkpoints[0].metadata.restoredFrom).toBe('cp-1.2');
    expect(second.checkpoints[2].state.completedTasks).toEqual(['load', 'totals', 'report']);
    // The new run's files are kept apart from the first run's attempts of the same number.
    const written = report.files.map((file) => file.key);
    expect(written).toEqual(['runs/2/steps/report/1/report.txt']);
    expect((await harness.request('GET', `/api/executions/${id}/artifacts/${written[0]}`)).text).toBe('reported');
    const reusedFile = await harness.request('GET', `/api/executions/${id}/artifacts/steps/totals/1/totals.csv`);
    expect(reusedFile.status).toBe(200);

    // A succeeded execution is not restored.
    const again = await harness.request('POST', `/api/executions/${id}/restore`, { checkpointId: 'cp-2.3' });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'INVALID_STATE_TRANSITION', details: { status: 'succeeded' } });
  });

  test('a checkpoint on demand while running; restore refused while active, for an unknown checkpoint', async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: "import time\nprint('started', flush=True)\ntime.sleep(30)",
    });
    const id = started.body.id as string;
    await harness.waitFor(id, (snapshot) => snapshot.status === 'running');

    const made = await harness.request('POST', `/api/executions/${id}/checkpoints`, {});
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      id: 'cp-1.1',
      executionId: id,
      state: { currentTaskId: 'main', completedTasks: [], taskStates: { main: { status: 'running' } }, variables: {} },
      metadata: { reason: 'on_demand', run: 1, by: 'operator', variablesBytes: 2 },
    });
    expect((await checkpointsOf(id)).checkpoints.map((checkpoint) => checkpoint.id)).toEqual(['cp-1.1']);
    const early = await harness.request('POST', `/api/executions/${id}/restore`, { checkpointId: 'cp-1.1' });
    expect(early.status).toBe(409);
    expect(early.body.error.details.status).toBe('running');

    expect((await harness.request('POST', `/api/executions/${id}/cancel`, {})).status).toBe(202);
    const cancelled = await harness.waitForEnd(id);
    expect(cancelled.status).toBe('cancelled');
    const late = await harness.request('POST', `/api/executions/${id}/checkpoints`, {});
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: 'INVALID_STATE_TRANSITION', details: { status: 'cancelled' } });

    const unknown = await harness.request('POST', `/api/executions/${id}/restore`, { checkpointId: 'cp-9.9' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatchObject({ code: 'UNKNOWN_CHECKPOINT', details: { checkpoints: ['cp-1.1'] } });

    // A cancelled execution restored from its checkpoint, with code for the step it stopped in.
    const restored = await harness.request('POST', `/api/executions/${id}/restore`, {
      checkpointId: 'cp-1.1',
      code: "print('quick this time')",
    });
    expect(restored.status).toBe(202);
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('succeeded');
    expect(done.steps[0].attempts.map((attempt) => [attempt.author, attempt.stdout])).toEqual([
      ['person', 'quick this time\n'],
    ]);
  });

  test('a repeated submission with the same Idempotency-Key after a restore starts no run; other tenants see none of it', async () => {
    const key = `restore-key-${Date.now()}`;
    const body = {
      code: "import time\nprint('started', flush=True)\ntime.sleep(30)",
    };
    const first = await harness.request('POST', '/api/executions', body, { 'idempotency-key': key });
    const id = first.body.id as string;
    await harness.waitFor(id, (snapshot) => snapshot.status === 'running');
    expect((await harness.request('POST', `/api/executions/${id}/checkpoints`, {})).status).toBe(201);
    await harness.request('POST', `/api/executions/${id}/cancel`, {});
    expect((await harness.waitForEnd(id)).status).toBe('cancelled');
    const firstRun = (await detail(id)).runId;

    const restored = await harness.request('POST', `/api/executions/${id}/restore`, {
      checkpointId: 'cp-1.1',
      code: "print('restored')",
    });
    expect(restored.status).toBe(202);
    expect((await harness.waitForEnd(id)).status).toBe('succeeded');

    // The same key again: the same execution, as it stands, and no third run (nor a second first run).
    const repeat = await harness.request('POST', '/api/executions', body, { 'idempotency-key': key });
    expect(repeat.status).toBe(202);
    expect(repeat.body).toMatchObject({ id, status: 'succeeded' });
    const after = await detail(id);
    expect(after.runs.map((run) => [run.runId, run.status])).toEqual([
      [firstRun, 'cancelled'],
      [restored.body.runId, 'succeeded'],
    ]);
    // Temporal itself has two runs of the id (visibility is eventually consistent: wait for both, then count).
    const countRuns = async () =>
      (
        await harness.client.workflowService.listWorkflowExecutions({
          namespace: harness.config.temporal.namespace,
          query: `WorkflowId = '${id}'`,
        })
      ).executions?.length ?? 0;
    const deadline = Date.now() + 10_000;
    while ((await countRuns()) < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await countRuns()).toBe(2);

    // Another tenant's key finds nothing to restore, checkpoint or read.
    const other = await harness.keyFor('globex', ['read', 'run']);
    const foreign = await harness.request('POST', `/api/executions/${id}/restore`, { checkpointId: 'cp-2.1' }, other);
    expect(foreign.status).toBe(404);
    expect((await harness.request('POST', `/api/executions/${id}/checkpoints`, {}, other)).status).toBe(404);
    expect((await harness.request('GET', `/api/executions/${id}/checkpoints`, undefined, other)).status).toBe(404);
  });
});
