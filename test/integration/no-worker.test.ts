import { useHarness } from '../support/harness';
import { readEvents, type SseEvent } from '../support/sse';

/**
 * With no worker polling the task queue the gateway still answers: reads at once, from what it knows
 * and marked stale; control requests with a clear 503; health says which part is missing.
 */
describe('a task queue that no worker polls', () => {
  const harness = useHarness({ model: false, worker: false });

  test('reads answer stale, control answers 503, health says the worker is down', async () => {
    const started = await harness.request('POST', '/api/executions', { code: 'print(1)' });
    expect(started.status).toBe(202);
    const id = started.body.id as string;

    const snapshot = await harness.request('GET', `/api/executions/${id}`);
    expect(snapshot.status).toBe(200);
    expect(snapshot.body).toMatchObject({ id, status: 'queued', stale: true, plan: null });

    const pause = await harness.request('POST', `/api/executions/${id}/pause`, {});
    expect(pause.status).toBe(503);
    expect(pause.body.error.code).toBe('WORKER_UNAVAILABLE');

    const health = await harness.request('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ ok: false, temporal: 'up', worker: 'down' });

    // The execution waits in Temporal and runs once a worker comes.
    await harness.startWorker();
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('succeeded');
    expect(done.stale).toBeUndefined();
    // Health follows within a second or two (what it knows of the pollers is reused that long).
    let healthAfter = await harness.request('GET', '/healthz');
    for (let i = 0; i < 100 && healthAfter.body.worker !== 'up'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      healthAfter = await harness.request('GET', '/healthz');
    }
    expect(healthAfter.body).toEqual({ ok: true, temporal: 'up', worker: 'up' });
    await harness.stopWorker();
  });
});

describe('the live stream while no worker polls', () => {
  const harness = useHarness({ model: false, worker: false });

  test('says the data is stale, then that it is live again when a worker comes, then ends', async () => {
    const started = await harness.request('POST', '/api/executions', { code: 'print(1)' });
    const id = started.body.id as string;
    const events: SseEvent[] = [];
    let sawStale!: () => void;
    const staleSeen = new Promise<void>((resolve) => (sawStale = resolve));
    const stream = readEvents(`${harness.baseUrl}/api/executions/${id}/events`, {
      onEvent: (event) => {
        events.push(event);
        if (event.event === 'stale' && event.data.stale === true) sawStale();
      },
    });
    await staleSeen;
    await harness.startWorker();
    await stream;

    const kinds = events.map((event) => (event.event === 'stale' ? `stale:${event.data.stale}` : event.event));
    expect(kinds[0]).toBe('stale:true');
    expect(kinds).toContain('stale:false');
    expect(kinds.indexOf('stale:false')).toBeLessThan(kinds.indexOf('end'));
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { id, status: 'succeeded' } });
    await harness.stopWorker();
  });
});

describe('a worker that stops while an execution runs', () => {
  const harness = useHarness({ model: false });

  test('reads then answer the last snapshot the gateway saw, marked stale', async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: "import time\nprint('working', flush=True)\ntime.sleep(60)",
      options: { stepTimeoutMs: 300_000 },
    });
    const id = started.body.id as string;
    const seen = await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');
    expect(seen.stale).toBeUndefined();

    await harness.stopWorker();
    const after = await harness.request('GET', `/api/executions/${id}`);
    expect(after.status).toBe(200);
    expect(after.body.stale).toBe(true);
    // What Temporal alone records has no steps: these come from the snapshot seen before.
    expect(after.body.seq).toBe(seen.seq);
    expect(after.body.steps.map((step: { id: string }) => step.id)).toEqual(seen.steps.map((step) => step.id));
    expect(after.body.progress.currentPhase).toBe('executing');

    await harness.client.workflow.getHandle(id).terminate('the test is over');
  });
});

describe('a worker that polls but does not answer', () => {
  const harness = useHarness({ model: false, worker: false });

  test('a read answers stale after its deadline, and a pause 503 after its own', async () => {
    const worker = await harness.spawnWorker();
    const started = await harness.request('POST', '/api/executions', {
      code: 'import time\ntime.sleep(60)',
      options: { stepTimeoutMs: 300_000 },
    });
    const id = started.body.id as string;
    const seen = await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');
    // Frozen, not gone: Temporal still lists its polls, so only the deadlines can tell.
    worker.kill('SIGSTOP');
    try {
      const read = await harness.request('GET', `/api/executions/${id}`);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ stale: true, seq: seen.seq });
      const pause = await harness.request('POST', `/api/executions/${id}/pause`, {});
      expect(pause.status).toBe(503);
      expect(pause.body.error.code).toBe('WORKER_UNAVAILABLE');
    } finally {
      worker.kill('SIGKILL');
      await harness.client.workflow.getHandle(id).terminate('the test is over');
    }
  });
});
