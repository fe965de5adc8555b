/**
 * Schedules of named tasks: real Temporal Schedules on the dev server, with a one-second interval,
 * their runs resolving the task in their first step.
 */
import { ScheduleNotFoundError } from '@temporalio/client';
import type { ExecutionSnapshot } from '../../src/domain/types';
import { useHarness } from '../support/harness';

const TICK = {
  slug: 'tick',
  title: 'Tick',
  description: 'Say tick for {{label}}.',
  parameters: { properties: { label: { type: 'string' } }, required: ['label'] },
  code: "print('tick')",
};

interface ScheduleView {
  id: string;
  task: { slug: string; version: number | 'latest' };
  paused: boolean;
  note: string | null;
  nextRuns: string[];
  recentRuns: Array<{ executionId: string; scheduledAt: string; startedAt: string }>;
}

describe('schedules', () => {
  const harness = useHarness({ model: false, env: { ADMIN_API_KEY: 'operator-key' } });
  harness.defaultHeaders = { authorization: 'Bearer operator-key' };
  const created: string[] = [];

  afterAll(async () => {
    // A schedule left behind by a failed test would go on starting runs on the shared server.
    for (const id of created)
      await harness.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
  });

  const schedule = async (body: Record<string, unknown>, slug = 'tick') => {
    const response = await harness.request('POST', `/api/tasks/${slug}/schedules`, body);
    expect(response.status).toBe(201);
    created.push(response.body.id as string);
    return response.body as ScheduleView;
  };
  const view = async (id: string) => {
    const response = await harness.request('GET', `/api/tasks/tick/schedules/${id}`);
    expect(response.status).toBe(200);
    return response.body as ScheduleView;
  };
  const waitForRuns = async (id: string, count: number, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const runs = (await view(id)).recentRuns;
      if (runs.length >= count) return runs;
      if (Date.now() > deadline) throw new Error(`schedule ${id} started ${runs.length} run(s), not ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  test('a schedule is refused with the field named when its timing, zone or inputs are wrong', async () => {
    expect((await harness.request('POST', '/api/tasks', TICK)).status).toBe(201);
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ every: '1s', cron: '* * * * *', inputs: { label: 'a' } }, 422, 'VALIDATION_FAILED'],
      [{ inputs: { label: 'a' } }, 422, 'VALIDATION_FAILED'],
      [{ every: 'often', inputs: { label: 'a' } }, 422, 'VALIDATION_FAILED'],
      [{ every: '500ms', inputs: { label: 'a' } }, 422, 'VALIDATION_FAILED'],
      [{ every: '1m', timezone: 'Mars/Olympus', inputs: { label: 'a' } }, 422, 'VALIDATION_FAILED'],
      [{ every: '1m', inputs: {} }, 422, 'INVALID_INPUTS'],
      [{ every: '1m', inputs: { label: 'a' }, version: 7 }, 404, 'NOT_FOUND'],
      [{ cron: 'every full moon', inputs: { label: 'a' } }, 422, 'INVALID_SCHEDULE'],
      [{ cron: '99 * * * *', inputs: { label: 'a' } }, 422, 'INVALID_SCHEDULE'],
    ];
    for (const [body, status, code] of cases) {
      const response = await harness.request('POST', '/api/tasks/tick/schedules', body);
      expect({ body, status: response.status, code: response.body?.error?.code }).toEqual({ body, status, code });
    }
    expect((await harness.request('POST', '/api/tasks/nothing/schedules', { every: '1m' })).status).toBe(404);
    expect((await harness.request('GET', '/api/tasks/tick/schedules')).body.schedules).toEqual([]);
  });

  test('runs arrive every second from the pinned version; pausing stops them; a trigger runs one now', async () => {
    const made = await schedule({ every: '1s', inputs: { label: 'north' }, note: 'every second' });
    expect(made).toMatchObject({ task: { slug: 'tick', version: 1 }, paused: false, note: 'every second' });
    expect(made.nextRuns.length).toBeGreaterThan(0);

    // A new version that the schedule's inputs would not fit: the schedule is pinned to version 1.
    const changed = await harness.request('PUT', '/api/tasks/tick', {
      ...TICK,
      slug: undefined,
      description: 'Say tick for {{label}} in {{region}}.',
      parameters: {
        properties: { label: { type: 'string' }, region: { type: 'string' } },
        required: ['label', 'region'],
      },
    });
    expect(changed.status).toBe(200);

    const runs = await waitForRuns(made.id, 2);
    for (const run of runs.slice(0, 2)) {
      const done = await harness.waitForEnd(run.executionId);
      expect(done).toMatchObject({
        status: 'succeeded',
        triggeredBy: 'schedule',
        scheduleId: made.id,
        task: 'Say tick for north.',
        namedTask: { slug: 'tick', version: 1 },
        kind: 'code',
      });
      expect(done.steps[0].attempts[0].stdout).toBe('tick\n');
      expect(done.messages.map((message) => message.message)).toContain(
        `schedule ${made.id} runs task tick at version 1`,
      );
    }

    const paused = await harness.request('PATCH', `/api/tasks/tick/schedules/${made.id}`, {
      paused: true,
      note: 'holiday',
    });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, note: 'holiday' });
    // A run Temporal was starting as the pause arrived may still land: settle, then watch.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const before = (await view(made.id)).recentRuns.length;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await view(made.id)).recentRuns.length).toBe(before);

    const triggered = await harness.request('POST', `/api/tasks/tick/schedules/${made.id}/trigger`);
    expect(triggered.status).toBe(202);
    const after = await waitForRuns(made.id, before + 1);
    expect((await harness.waitForEnd(after[after.length - 1].executionId)).status).toBe('succeeded');
  });

  test('a run of "latest" whose task no longer takes its inputs fails with a clear error', async () => {
    const inputs = { label: 'south', region: 'west' };
    const made = await schedule({ every: '1h', inputs, version: 'latest', paused: true });
    expect(made.task.version).toBe('latest');
    expect(made.note).toBeNull();
    const changed = await harness.request('PUT', '/api/tasks/tick', {
      ...TICK,
      slug: undefined,
      description: 'Say tick for {{label}} in {{month}}.',
      parameters: {
        properties: { label: { type: 'string' }, month: { type: 'string' } },
        required: ['label', 'month'],
      },
    });
    expect(changed.status).toBe(200);
    expect((await harness.request('POST', `/api/tasks/tick/schedules/${made.id}/trigger`)).status).toBe(202);
    const [run] = await waitForRuns(made.id, 1);
    const done: ExecutionSnapshot = await harness.waitForEnd(run.executionId);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ code: 'TASK_UNAVAILABLE', recoverable: false });
    expect(done.error?.message).toContain('inputs.month');
    expect(done.error?.message).toContain(made.id);
  });

  test("another tenant does not see a tenant's schedules; delete removes one from Temporal", async () => {
    const made = await schedule({ cron: '0 9 * * 1', timezone: 'Europe/Paris', inputs: { label: 'x' }, version: 1 });
    const key = await harness.request('POST', '/api/keys', { tenant: 'globex', name: 'ci', scopes: ['read', 'run'] });
    const globex = { authorization: `Bearer ${key.body.secret as string}` };
    expect((await harness.request('GET', `/api/tasks/tick/schedules/${made.id}`, undefined, globex)).status).toBe(404);
    expect((await harness.request('GET', '/api/tasks/tick/schedules', undefined, globex)).body.schedules).toEqual([]);
    expect((await harness.request('DELETE', `/api/tasks/tick/schedules/${made.id}`, undefined, globex)).status).toBe(
      404,
    );
    const next = new Date((await view(made.id)).nextRuns[0]);
    expect(next.getUTCDay()).toBe(1);

    expect((await harness.request('DELETE', `/api/tasks/tick/schedules/${made.id}`)).status).toBe(204);
    await expect(harness.client.schedule.getHandle(made.id).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await harness.request('GET', `/api/tasks/tick/schedules/${made.id}`)).status).toBe(404);
  });

  test('deleting a task deletes its schedules', async () => {
    const made = await schedule({ every: '1h', inputs: { label: 'y' }, version: 1, paused: true });
    expect((await harness.request('DELETE', '/api/tasks/tick')).status).toBe(204);
    await expect(harness.client.schedule.getHandle(made.id).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });
});
