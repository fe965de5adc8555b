import type { ChildProcess } from 'node:child_process';
import { useHarness } from '../support/harness';
import { processesMentioning } from '../support/processes';

/**
 * A worker told to stop (SIGTERM, as a deploy or Ctrl-C does) stops taking work at once and lets
 * its running activities finish within WORKER_SHUTDOWN_GRACE_MS; what is still running after that
 * is cancelled and Temporal runs it again on another worker.
 */
describe('a worker stopped with SIGTERM', () => {
  const harness = useHarness({ model: false, worker: false });

  const exited = (child: ChildProcess) =>
    new Promise<{ code: number | null; at: number }>((resolve) =>
      child.once('exit', (code) => resolve({ code, at: Date.now() })),
    );
  const sandboxStarts = async (id: string) => {
    const history = await harness.client.workflow.getHandle(id).fetchHistory();
    return (history.events ?? [])
      .filter((event) => event.activityTaskStartedEventAttributes)
      .map((event) => ({
        attempt: Number(event.activityTaskStartedEventAttributes!.attempt),
        identity: event.activityTaskStartedEventAttributes!.identity,
      }));
  };
  const start = async (seconds: number) => {
    const started = await harness.request('POST', '/api/executions', {
      code: `import time\nprint('started', flush=True)\ntime.sleep(${seconds})\nprint('finished')`,
    });
    expect(started.status).toBe(202);
    const id = started.body.id as string;
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');
    // The run itself has begun: the sandbox's command lines carry the execution id.
    for (let i = 0; i < 200 && processesMentioning(id).length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(processesMentioning(id).length).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    return id;
  };

  test('its running sandbox run finishes within the grace time and is not run again', async () => {
    const first = await harness.spawnWorker({ WORKER_SHUTDOWN_GRACE_MS: '30000' });
    const id = await start(3);
    const signalled = Date.now();
    const gone = exited(first);
    first.kill('SIGTERM');
    // Another worker takes what comes after the run (the first polls no more).
    const second = await harness.spawnWorker();
    const done = await harness.waitForEnd(id, 90_000);
    // Gone before the next test, whose executions must go to the workers it starts.
    const secondGone = exited(second);
    second.kill('SIGTERM');
    await secondGone;
    const { code, at } = await gone;
    expect(code).toBe(0);
    expect(done.status).toBe('succeeded');
    expect(done.steps[0].attempts).toHaveLength(1);
    expect(done.steps[0].attempts[0].stdout).toBe('started\nfinished\n');
    // It waited for the run, more than 2 s of sleep after the signal, instead of giving it up.
    expect(at - signalled).toBeGreaterThan(1500);
    const sandbox = (await sandboxStarts(id)).filter(({ attempt }) => attempt > 1);
    expect(sandbox).toEqual([]);
  }, 120_000);

  test('a run longer than the grace time is cancelled and runs again on another worker', async () => {
    const first = await harness.spawnWorker({ WORKER_SHUTDOWN_GRACE_MS: '1000' });
    const id = await start(6);
    const signalled = Date.now();
    const gone = exited(first);
    first.kill('SIGTERM');
    await harness.spawnWorker();
    const { code, at } = await gone;
    expect(code).toBe(0);
    // Out within the grace time and the cancellation, long before the run would have ended.
    expect(at - signalled).toBeLessThan(5000);
    const done = await harness.waitForEnd(id, 120_000);
    expect(done.status).toBe('succeeded');
    expect(done.steps[0].attempts).toHaveLength(1);
    expect(done.steps[0].attempts[0].stdout).toBe('started\nfinished\n');
    const starts = await sandboxStarts(id);
    expect(Math.max(...starts.map(({ attempt }) => attempt))).toBeGreaterThanOrEqual(2);
  }, 150_000);
});
