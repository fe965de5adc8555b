import { existsSync } from 'node:fs';
import path from 'node:path';
import { retentionScheduleId } from '../../src/api/retention-schedule';
import type { RetentionReport } from '../../src/activities/retention';
import { base64, useHarness } from '../support/harness';

/**
 * ARTIFACT_RETENTION_DAYS: a Temporal Schedule the gateway makes runs a retention pass that removes
 * the files of executions that ended longer ago than that, and keeps those of active ones.
 */
describe('artifact retention', () => {
  // About 1.7 s, so that the test need not wait a day.
  const harness = useHarness({ model: false, env: { ARTIFACT_RETENTION_DAYS: '0.00002' } });
  const folderOf = (id: string) => path.join(harness.dataDir, 'artifacts', id);

  afterAll(async () => {
    await harness.client.schedule
      .getHandle(retentionScheduleId(harness.config.temporal.taskQueue))
      .delete()
      .catch(() => undefined);
  });

  test('a pass removes an ended execution’s files, keeps an active one’s, and says what it did', async () => {
    const schedule = harness.client.schedule.getHandle(retentionScheduleId(harness.config.temporal.taskQueue));
    // The gateway makes the schedule in the background as it starts.
    let described = await schedule.describe().catch(() => null);
    for (let i = 0; i < 100 && described === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      described = await schedule.describe().catch(() => null);
    }
    expect(described?.spec.intervals?.[0]?.every).toBe(3_600_000);
    expect(described?.action).toMatchObject({ type: 'startWorkflow', workflowType: 'artifactRetentionWorkflow' });

    const ended = await harness.request('POST', '/api/executions', {
      code: "open('out.txt', 'w').write('x')",
      files: [{ name: 'in.csv', content: base64('a\n1\n') }],
    });
    const endedId = ended.body.id as string;
    expect((await harness.waitForEnd(endedId)).status).toBe('succeeded');
    const active = await harness.request('POST', '/api/executions', {
      code: 'import time\ntime.sleep(120)',
      files: [{ name: 'in.csv', content: base64('a\n1\n') }],
      options: { stepTimeoutMs: 300_000 },
    });
    const activeId = active.body.id as string;
    await harness.waitFor(activeId, (snapshot) => snapshot.progress.currentPhase === 'executing');
    expect(existsSync(folderOf(endedId))).toBe(true);
    expect(existsSync(folderOf(activeId))).toBe(true);
    // Both are past the cutoff now.
    await new Promise((resolve) => setTimeout(resolve, 2500));

    await schedule.trigger();
    let runId: string | undefined;
    for (let i = 0; i < 100 && runId === undefined; i++) {
      const actions = (await schedule.describe()).info.recentActions;
      runId = actions.at(-1)?.action.workflow.workflowId;
      if (runId === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const report = (await harness.client.workflow.getHandle(runId!).result()) as RetentionReport;
    expect(report.removed).toBeGreaterThanOrEqual(1);
    expect(report.files).toBeGreaterThanOrEqual(2);
    expect(report.keptActive).toBeGreaterThanOrEqual(1);
    expect(report.cutoff).toEqual(expect.any(String));
    expect(existsSync(folderOf(endedId))).toBe(false);
    expect(existsSync(folderOf(activeId))).toBe(true);
    // The history stays (Temporal's own retention removes it): the execution is still there.
    expect((await harness.request('GET', `/api/executions/${endedId}`)).status).toBe(200);

    expect((await harness.request('POST', `/api/executions/${activeId}/cancel`, {})).status).toBe(202);
    expect((await harness.waitForEnd(activeId)).status).toBe('cancelled');
  }, 120_000);
});
