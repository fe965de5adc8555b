import { useHarness } from '../support/harness';
import { processesMentioning } from '../support/processes';

/**
 * A worker process killed outright (SIGKILL) in the middle of a sandbox step: Temporal notices the
 * silence through the missing heartbeats, runs the step again on the next worker, and the execution
 * ends once, with one recorded attempt.
 */
describe('a worker killed during a step', () => {
  const harness = useHarness({ model: false, worker: false });

  test('the step runs again on another worker and the execution finishes once', async () => {
    const first = await harness.spawnWorker();
    const started = await harness.request('POST', '/api/executions', {
      code: "import time\nprint('working', flush=True)\ntime.sleep(3)\nopen('result.txt', 'w').write('done')",
    });
    const id = started.body.id as string;
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');
    await new Promise((resolve) => setTimeout(resolve, 500));
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    await harness.spawnWorker();
    const done = await harness.waitForEnd(id, 90_000);
    expect(done.status).toBe('succeeded');
    expect(done.steps[0].attempts).toHaveLength(1);
    expect(done.result?.files.map((file) => file.name)).toEqual(['result.txt']);
    expect(done.timeline.filter((event) => event.event === 'EXECUTION_COMPLETED')).toHaveLength(1);

    // Temporal ran the sandbox activity a second time.
    const history = await harness.client.workflow.getHandle(id).fetchHistory();
    const attempts = (history.events ?? [])
      .filter((event) => event.activityTaskStartedEventAttributes)
      .map((event) => event.activityTaskStartedEventAttributes!.attempt);
    expect(Math.max(...attempts.map(Number))).toBeGreaterThanOrEqual(2);
  });
});

describe('a sandbox whose worker is killed', () => {
  // A harness of its own: no worker of the tests above may take this execution instead.
  const harness = useHarness({ model: false, worker: false });

  test("the killed worker's sandbox dies with it: no orphan keeps running the code", async () => {
    const first = await harness.spawnWorker();
    const started = await harness.request('POST', '/api/executions', {
      code: "import time\nprint('working', flush=True)\ntime.sleep(120)",
      options: { stepTimeoutMs: 300_000 },
    });
    const id = started.body.id as string;
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');
    // The sandbox's command lines carry the execution id.
    for (let i = 0; i < 100 && processesMentioning(id).length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(processesMentioning(id).length).toBeGreaterThan(0);

    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    // Nothing cleans up after a SIGKILL but the kernel: the sandbox must die with its parent.
    for (let i = 0; i < 100 && processesMentioning(id).length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(processesMentioning(id)).toEqual([]);

    // Nothing is left running for later tests: the execution is ended through Temporal directly.
    await harness.client.workflow.getHandle(id).terminate('the test is over');
  });
});
