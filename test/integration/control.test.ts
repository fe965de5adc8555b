import type { ExecutionInput, ExecutionSnapshot } from '../../src/domain/types';
import {
  WORKFLOW_TYPE,
  cancelSignal,
  pauseUpdate,
  resumeUpdate,
  snapshotQuery,
  statusQuery,
} from '../../src/workflows/messages';
import { answer } from '../support/fake-model';
import { useHarness } from '../support/harness';
import { processesMentioning } from '../support/processes';
import { readEvents } from '../support/sse';

const SLOW_CODE = "import time\nprint('tick', flush=True)\ntime.sleep(2)\nprint('tock')";

const events = (snapshot: ExecutionSnapshot) => snapshot.timeline.map((event) => event.event);

/** Each number greater than the one before it: sorted, and without repeats. */
const expectIncreasing = (numbers: number[]) => {
  expect(numbers.length).toBeGreaterThan(0);
  numbers.slice(1).forEach((value, i) => expect(value).toBeGreaterThan(numbers[i]));
};

describe('controlling executions', () => {
  const harness = useHarness();

  const start = async (body: Record<string, unknown>) => {
    const response = await harness.request('POST', '/api/executions', body);
    expect(response.status).toBe(202);
    return response.body.id as string;
  };

  test('pause lets the running step finish, then waits; resume goes on', async () => {
    harness.fake.script(answer.plan(), answer.code(SLOW_CODE), answer.analysis('Ticked and tocked.'));
    const id = await start({ task: 'Tick, then tock.' });
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');

    const paused = await harness.request('POST', `/api/executions/${id}/pause`, { reason: 'lunch' });
    expect(paused.status).toBe(202);
    expect(paused.body.status).toBe('paused');
    // The sandbox run finishes, but the analysis does not start while paused.
    const afterRun = await harness.waitFor(id, (snapshot) => snapshot.steps[0]?.attempts.length === 1, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const stillPaused = await harness.waitFor(id, () => true);
    expect(stillPaused.status).toBe('paused');
    expect(afterRun.steps[0].attempts[0].stdout).toContain('tock');
    expect(harness.fake.count('analysis')).toBe(0);

    expect((await harness.request('POST', `/api/executions/${id}/pause`, {})).status).toBe(409);
    const resumed = await harness.request('POST', `/api/executions/${id}/resume`, {});
    expect(resumed.status).toBe(202);
    expect(resumed.body.status).toBe('running');

    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('succeeded');
    expect(events(done)).toEqual(expect.arrayContaining(['EXECUTION_PAUSED', 'EXECUTION_RESUMED']));
    expect(done.timeline.find((event) => event.event === 'EXECUTION_PAUSED')?.description).toBe('lunch');
    expect(done.metrics.effectiveDurationMs).toBeLessThan(done.metrics.totalDurationMs - 500);
    expect((await harness.request('POST', `/api/executions/${id}/resume`, {})).status).toBe(409);
  });

  test('a paused execution can be cancelled', async () => {
    const id = await start({ code: SLOW_CODE });
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');
    expect((await harness.request('POST', `/api/executions/${id}/pause`, {})).status).toBe(202);
    expect((await harness.request('POST', `/api/executions/${id}/cancel`, { reason: 'not needed' })).status).toBe(202);
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('cancelled');
    expect(done.error?.message).toBe('not needed');
    expect(processesMentioning(id)).toEqual([]);
  });

  test('transitions the state does not allow are refused with 409', async () => {
    const id = await start({ code: SLOW_CODE });
    await harness.waitFor(id, (snapshot) => snapshot.status === 'running');
    const resume = await harness.request('POST', `/api/executions/${id}/resume`, {});
    expect(resume.status).toBe(409);
    expect(resume.body.error.code).toBe('INVALID_STATE_TRANSITION');
    expect(resume.body.error.message).toContain('running');
    const input = await harness.request('POST', `/api/executions/${id}/input`, { approve: true });
    expect(input.status).toBe(409);
    await harness.waitForEnd(id);
    for (const action of ['pause', 'resume', 'cancel']) {
      const late = await harness.request('POST', `/api/executions/${id}/${action}`, {});
      expect(late.status).toBe(409);
      expect(late.body.error.details.status).toBe('succeeded');
    }
    expect((await harness.request('POST', `/api/executions/exec-unknown/pause`, {})).status).toBe(404);
  });

  test('with requireApproval the plan waits for approval; approving runs it', async () => {
    harness.fake.script(answer.plan(), answer.code("print('approved work')"), answer.analysis('Done.'));
    const id = await start({ task: 'Do approved work.', options: { requireApproval: true } });
    const waiting = await harness.waitFor(id, (snapshot) => snapshot.status === 'awaiting_input');
    expect(waiting.awaiting).toMatchObject({ kind: 'approval' });
    expect(waiting.plan?.steps).toHaveLength(1);
    expect(harness.fake.count('code')).toBe(0);

    const wrong = await harness.request('POST', `/api/executions/${id}/input`, { input: { hint: 'x' } });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.code).toBe('INVALID_INPUT');
    expect((await harness.request('POST', `/api/executions/${id}/pause`, {})).status).toBe(409);

    const approve = await harness.request('POST', `/api/executions/${id}/input`, { approve: true });
    expect(approve.status).toBe(202);
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('succeeded');
    expect(done.awaiting).toBeNull();
    expect(done.steps[0].attempts[0].stdout).toContain('approved work');
  });

  test('rejecting the plan cancels the execution with the reason', async () => {
    harness.fake.script(answer.plan());
    const id = await start({ task: 'Do something risky.', options: { requireApproval: true } });
    await harness.waitFor(id, (snapshot) => snapshot.status === 'awaiting_input');
    const reject = await harness.request('POST', `/api/executions/${id}/input`, { approve: false, input: 'too risky' });
    expect(reject.status).toBe(202);
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('cancelled');
    expect(done.error?.message).toBe('the plan was rejected: too risky');
    expect(harness.fake.count('code')).toBe(0);
  });

  test('after the last failed attempt, a hint from a person leads to a fix', async () => {
    harness.fake.script(
      answer.plan(),
      answer.code("raise KeyError('revenu')"),
      answer.code("print('revenue', 42)"),
      answer.analysis('Revenue is 42.'),
    );
    const id = await start({ task: 'Report revenue.', options: { maxAttempts: 1, onExhausted: 'ask' } });
    const waiting = await harness.waitFor(id, (snapshot) => snapshot.status === 'awaiting_input');
    expect(waiting.awaiting?.kind).toBe('recovery');
    expect(waiting.awaiting?.prompt).toContain('KeyError');

    const hint = await harness.request('POST', `/api/executions/${id}/input`, {
      input: { hint: 'the column is called revenue' },
    });
    expect(hint.status).toBe(202);
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('succeeded');
    expect(done.steps[0].attempts.map((attempt) => attempt.status)).toEqual(['failed', 'succeeded']);
    expect(events(done)).toContain('RECOVERY_INITIATED');
    const secondPrompt = harness.fake.requests.filter((request) => request.purpose === 'code')[1].user;
    expect(secondPrompt).toContain('the column is called revenue');
    expect(secondPrompt).toContain('KeyError');
  });

  test('corrected code from a person is run as is; giving up fails the execution', async () => {
    const fixed = await start({ code: '1/0', options: { maxAttempts: 1, onExhausted: 'ask' } });
    await harness.waitFor(fixed, (snapshot) => snapshot.status === 'awaiting_input');
    await harness.request('POST', `/api/executions/${fixed}/input`, { input: { code: "print('fixed by hand')" } });
    const done = await harness.waitForEnd(fixed);
    expect(done.status).toBe('succeeded');
    expect(done.steps[0].attempts[1].stdout).toContain('fixed by hand');

    const abandoned = await start({ code: '1/0', options: { maxAttempts: 1, onExhausted: 'ask' } });
    await harness.waitFor(abandoned, (snapshot) => snapshot.status === 'awaiting_input');
    await harness.request('POST', `/api/executions/${abandoned}/input`, { approve: false });
    const failed = await harness.waitForEnd(abandoned);
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('CODE_ERROR');
  });

  test('the execution deadline ends it timed_out and kills the sandbox', async () => {
    const id = await start({ code: 'import time\ntime.sleep(60)', options: { timeoutMs: 2500 } });
    const done = await harness.waitForEnd(id, 30_000);
    expect(done.status).toBe('timed_out');
    expect(done.error?.code).toBe('TIMED_OUT');
    expect(done.timeline.at(-1)?.type).toBe('timeout');
    expect(processesMentioning(id)).toEqual([]);
  });

  test('an unanswered question expires and ends timed_out', async () => {
    harness.fake.script(answer.plan());
    const id = await start({ task: 'Wait for me.', options: { requireApproval: true, inputTimeoutMs: 1500 } });
    const done = await harness.waitForEnd(id, 30_000);
    expect(done.status).toBe('timed_out');
    expect(done.error?.message).toContain('no answer within 1500 ms');
  });

  test('the event stream delivers updates in order, live output, and an end event', async () => {
    // tick, then four seconds before tock: long enough for the live output to be read while it runs.
    const id = await start({ code: "import time\nprint('tick', flush=True)\ntime.sleep(4)\nprint('tock')" });
    const received = await readEvents(`${harness.baseUrl}/api/executions/${id}/events`);
    const updates = received.filter((event) => event.event === 'update');
    const seqs = updates.map((event) => Number(event.id));
    expectIncreasing(seqs);
    const timeline = updates.flatMap((event) => event.data.timeline as Array<{ seq: number; event: string }>);
    expectIncreasing(timeline.map((event) => event.seq));
    expect(timeline[0].event).toBe('EXECUTION_STARTED');
    expect(timeline.at(-1)?.event).toBe('EXECUTION_COMPLETED');
    const output = received.filter((event) => event.event === 'output');
    expect(output.map((event) => event.data.text).join('')).toContain('tick');
    // The live output arrived while the step was still running: before the update that ends its run.
    const tickIndex = received.findIndex(
      (event) => event.event === 'output' && String(event.data.text).includes('tick'),
    );
    const runEndIndex = received.findIndex(
      (event) =>
        event.event === 'update' &&
        (event.data.timeline as Array<{ event: string; stepId: string | null }>).some(
          (entry) => entry.event === 'RESOURCE_RELEASED' && entry.stepId === 'main',
        ),
    );
    expect(runEndIndex).toBeGreaterThan(-1);
    expect(tickIndex).toBeGreaterThan(-1);
    expect(tickIndex).toBeLessThan(runEndIndex);
    expect(received.at(-1)).toMatchObject({ event: 'end', data: { status: 'succeeded' } });

    // Resuming from the middle repeats nothing and misses nothing.
    const middle = seqs[Math.floor(seqs.length / 2)];
    const resumed = await readEvents(`${harness.baseUrl}/api/executions/${id}/events`, { lastEventId: middle });
    const resumedTimeline = resumed
      .filter((event) => event.event === 'update')
      .flatMap((event) => event.data.timeline as Array<{ seq: number }>);
    expect(resumedTimeline.every((event) => event.seq > middle)).toBe(true);
    expect(resumedTimeline.map((event) => event.seq)).toEqual(
      timeline.filter((event) => event.seq > middle).map((event) => event.seq),
    );
    expect(resumed.at(-1)?.event).toBe('end');
  });

  test('twenty watchers of one execution share one reader: the queries of one, the same events each', async () => {
    const id = await start({ code: "import time\nprint('tick', flush=True)\ntime.sleep(3)\nprint('tock')" });
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');
    const queriesBefore = harness.temporalCalls.get('QueryWorkflow') ?? 0;
    const opened = Date.now();
    const streams = await Promise.all(
      Array.from({ length: 20 }, () => readEvents(`${harness.baseUrl}/api/executions/${id}/events`)),
    );
    const elapsed = Date.now() - opened;
    const queries = (harness.temporalCalls.get('QueryWorkflow') ?? 0) - queriesBefore;
    // Each stream's own first read, then one reading per 150 ms for all of them (a few to spare):
    // twenty streams that each polled would make twenty times the readings.
    expect(queries).toBeLessThanOrEqual(20 + Math.ceil(elapsed / 150) + 5);
    const timelines = streams.map((events) =>
      events
        .filter((event) => event.event === 'update')
        .flatMap((event) => event.data.timeline as Array<{ seq: number; event: string }>),
    );
    for (const [index, events] of streams.entries()) {
      expect(events.at(-1)).toMatchObject({ event: 'end', data: { id, status: 'succeeded' } });
      expect(timelines[index].map((entry) => entry.seq)).toEqual(timelines[0].map((entry) => entry.seq));
    }
    expect(timelines[0].map((entry) => entry.event)).toContain('EXECUTION_COMPLETED');
  });

  test('a change reaches an open stream: a pause shows as an update, then the cancel as the end', async () => {
    // Order and content only; how fast the stream follows (under 300 ms at p95) is bench:watchers' question.
    const id = await start({ code: 'import time\ntime.sleep(30)', options: { stepTimeoutMs: 60_000 } });
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');
    let sawPause = false;
    const stream = readEvents(`${harness.baseUrl}/api/executions/${id}/events`, {
      timeoutMs: 60_000,
      onEvent: (event) => {
        if (event.event === 'update' && event.data.status === 'paused') sawPause = true;
      },
    });
    const paused = await harness.request('POST', `/api/executions/${id}/pause`, {});
    expect(paused.status).toBe(202);
    for (let i = 0; i < 300 && !sawPause; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sawPause).toBe(true);
    await harness.request('POST', `/api/executions/${id}/cancel`, {});
    const received = await stream;
    const pauseIndex = received.findIndex((event) => event.event === 'update' && event.data.status === 'paused');
    const pauseUpdate = received[pauseIndex];
    expect((pauseUpdate.data.timeline as Array<{ event: string }>).map((event) => event.event)).toContain(
      'EXECUTION_PAUSED',
    );
    expect(received.at(-1)).toMatchObject({ event: 'end', data: { status: 'cancelled' } });
    expect(pauseIndex).toBeLessThan(received.length - 1);
  });

  test('other services drive the workflow through Temporal without the gateway', async () => {
    const executionId = `exec-direct-${Date.now()}`;
    const input: ExecutionInput = {
      executionId,
      task: null,
      code: SLOW_CODE,
      plan: null,
      files: [],
      options: {
        maxAttempts: 1,
        timeoutMs: 60_000,
        stepTimeoutMs: 30_000,
        requireApproval: false,
        budgetUsd: null,
        sandbox: 'local',
        model: 'fake-model',
        onExhausted: 'fail',
        inputTimeoutMs: 60_000,
        prices: { promptPerMillion: 0, completionPerMillion: 0, sandboxPerSecond: 0 },
      },
      triggeredBy: 'schedule',
      kind: 'code',
      modelAvailable: false,
      createdAt: new Date().toISOString(),
    };
    const handle = await harness.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: harness.config.temporal.taskQueue,
      workflowId: executionId,
      args: [input],
    });
    for (let i = 0; i < 100 && (await handle.query(statusQuery)) !== 'running'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'from another service' }] })).toBe('paused');
    // A second pause is refused by the update's validator, with the state machine's reason.
    const refused = await handle.executeUpdate(pauseUpdate, { args: [{}] }).then(
      () => null,
      (error: unknown) => error as Error & { cause?: { type?: string; message?: string } },
    );
    expect(refused?.name).toBe('WorkflowUpdateFailedError');
    expect(refused?.cause).toMatchObject({ type: 'INVALID_STATE_TRANSITION' });
    expect(refused?.cause?.message).toContain('paused');
    expect(await handle.executeUpdate(resumeUpdate, { args: [{}] })).toBe('running');
    await handle.signal(cancelSignal, { reason: 'stopped by the scheduler' });
    const final = (await handle.result()) as ExecutionSnapshot;
    expect(final.status).toBe('cancelled');
    expect(final.error?.message).toBe('stopped by the scheduler');
    expect((await handle.query(snapshotQuery)).status).toBe('cancelled');
    // The gateway sees the same execution.
    const viaGateway = await harness.request('GET', `/api/executions/${executionId}`);
    expect(viaGateway.body.status).toBe('cancelled');
  });
});
