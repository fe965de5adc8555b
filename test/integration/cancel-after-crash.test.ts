import { useHarness } from '../support/harness';

/**
 * A cancel that arrives while the sandbox activity of a killed worker waits for its heartbeat timeout:
 * the activity then fails with a timeout, not a cancellation, and the execution must still end cancelled.
 */
describe('cancelling an execution whose worker was killed mid-step', () => {
  const harness = useHarness({ model: false, worker: false });

  test('ends it cancelled, as the person asked', async () => {
    const first = await harness.spawnWorker();
    const started = await harness.request('POST', '/api/executions', {
      code: "import time\nprint('working', flush=True)\ntime.sleep(120)",
      options: { stepTimeoutMs: 300_000 },
    });
    const id = started.body.id as string;
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    // Within the sandbox activity's 15 s heartbeat timeout: Temporal still counts the run as running.
    expect((await harness.request('POST', `/api/executions/${id}/cancel`, { reason: 'not needed' })).status).toBe(202);
    await harness.spawnWorker();
    const done = await harness.waitForEnd(id, 90_000);
    expect({ status: done.status, error: done.error?.code, message: done.error?.message }).toEqual({
      status: 'cancelled',
      error: 'CANCELLED',
      message: 'not needed',
    });
  });
});
