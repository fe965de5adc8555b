import type { ExecutionSnapshot } from '../../src/domain/types';
import { answer } from '../support/fake-model';
import { useHarness } from '../support/harness';

const recoveries = (snapshot: ExecutionSnapshot) =>
  snapshot.timeline
    .filter((event) => event.event === 'RECOVERY_INITIATED')
    .map((event) => (event.data as { strategy: string }).strategy);

const TWO_STEPS = {
  steps: [
    { id: 'first', title: 'First', dependsOn: [] },
    { id: 'second', title: 'Second', dependsOn: ['first'] },
  ],
};

describe('recovery strategies and budgets', () => {
  // The fake model is priced so that one call costs a few cents.
  const harness = useHarness({
    env: { MODEL_PRICES: JSON.stringify({ 'fake-model': { prompt: 100, completion: 100 } }) },
  });

  const run = async (body: Record<string, unknown>) => {
    const response = await harness.request('POST', '/api/executions', body);
    expect(response.status).toBe(202);
    return harness.waitForEnd(response.body.id);
  };

  test('by default a failed attempt is regenerated with the error and a fitting hint', async () => {
    harness.fake.script(answer.plan(), answer.code('1/0'), answer.code("print('ok')"), answer.analysis('ok'));
    const done = await run({ task: 'Divide.' });
    expect(done.status).toBe('succeeded');
    expect(recoveries(done)).toEqual(['regenerate']);
    const second = harness.fake.requests.filter((request) => request.purpose === 'code')[1].user;
    expect(second).toContain('ZeroDivisionError');
    expect(second).toContain('Read the traceback');
  });

  test('retry runs the same code again with backoff, without asking the model', async () => {
    harness.fake.script(answer.analysis('It kept failing.'));
    const done = await run({
      task: 'Fail the same way.',
      code: "raise RuntimeError('flaky')",
      options: { maxAttempts: 3, recovery: { CODE_ERROR: { strategy: 'retry', maxRetries: 2, backoffMs: 100 } } },
    });
    expect(done.status).toBe('failed');
    expect(done.steps[0].attempts.map((attempt) => attempt.code)).toEqual(Array(3).fill("raise RuntimeError('flaky')"));
    expect(harness.fake.count('code')).toBe(0);
    expect(recoveries(done)).toEqual(['retry', 'retry']);
    // The backoff doubles: 100 ms before the second run, 200 ms before the third, as the timeline says…
    const retries = done.timeline.filter((event) => event.event === 'RECOVERY_INITIATED');
    expect(retries.map((event) => event.data?.backoffMs)).toEqual([100, 200]);
    // …and as the durable timers the workflow started.
    const history = await harness.client.workflow.getHandle(done.id).fetchHistory();
    const timers = (history.events ?? [])
      .filter((event) => event.timerStartedEventAttributes)
      .map((event) => {
        const timeout = event.timerStartedEventAttributes!.startToFireTimeout!;
        return Number(timeout.seconds ?? 0) * 1000 + Math.round((timeout.nanos ?? 0) / 1e6);
      });
    expect(timers.filter((ms) => ms === 100 || ms === 200)).toEqual([100, 200]);
  });

  test('fallback code runs after a failure; abort stops at the first', async () => {
    const fallback = await run({
      code: "raise ValueError('primary broke')",
      options: { recovery: { CODE_ERROR: { strategy: 'fallback', code: "print('fallback ran')" } } },
    });
    expect(fallback.status).toBe('succeeded');
    expect(fallback.steps[0].attempts[1].stdout).toContain('fallback ran');
    expect(recoveries(fallback)).toEqual(['fallback']);
    expect(harness.fake.count('code')).toBe(0);

    const aborted = await run({
      code: '1/0',
      options: { maxAttempts: 5, recovery: { CODE_ERROR: { strategy: 'abort' } } },
    });
    expect(aborted.status).toBe('failed');
    expect(aborted.steps[0].attempts).toHaveLength(1);
    expect(recoveries(aborted)).toEqual(['abort']);
  });

  test('restore starts the step afresh, without the failed attempts in the prompt', async () => {
    harness.fake.script(answer.code("raise KeyError('nope')"), answer.code("print('fresh')"), answer.analysis('ok'));
    const done = await run({
      task: 'Start over when it fails.',
      plan: { steps: [{ id: 'main', title: 'Main', recovery: { CODE_ERROR: { strategy: 'restore' } } }] },
    });
    expect(done.status).toBe('succeeded');
    expect(recoveries(done)).toEqual(['restore']);
    expect(harness.fake.requests.filter((request) => request.purpose === 'code')[1].user).not.toContain('KeyError');
  });

  test('skip gives a step up; its dependents run or are skipped as configured', async () => {
    const plan = (dependents: 'run' | 'skip') => ({
      steps: [
        { ...TWO_STEPS.steps[0], recovery: { CODE_ERROR: { strategy: 'skip', dependents } } },
        TWO_STEPS.steps[1],
      ],
    });
    const code = answer.codeForStep({ first: "raise OSError('source offline')", second: "print('second ran')" });

    harness.fake.script(code, code, answer.analysis('Second ran without first.'));
    const ran = await run({ task: 'Try both.', plan: plan('run') });
    expect(ran.status).toBe('succeeded');
    expect(ran.steps.map((step) => step.status)).toEqual(['skipped', 'succeeded']);
    expect(ran.steps[1].attempts[0].stdout).toContain('second ran');
    expect(recoveries(ran)).toEqual(['skip']);

    harness.fake.reset();
    harness.fake.script(code, answer.analysis('Nothing ran.'));
    const skipped = await run({ task: 'Try both.', plan: plan('skip') });
    expect(skipped.status).toBe('succeeded');
    expect(skipped.steps.map((step) => step.status)).toEqual(['skipped', 'skipped']);
    expect(harness.fake.count('code')).toBe(1);
  });

  test('ask waits for a person at the first failure of that kind', async () => {
    const response = await harness.request('POST', '/api/executions', {
      code: "open('/etc/passwd')",
      options: { maxAttempts: 3, recovery: { VALIDATION_ERROR: { strategy: 'ask' } } },
    });
    const waiting = await harness.waitFor(response.body.id, (snapshot) => snapshot.status === 'awaiting_input');
    expect(waiting.awaiting?.kind).toBe('recovery');
    expect(waiting.steps[0].attempts).toHaveLength(1);
    await harness.request('POST', `/api/executions/${response.body.id}/input`, { input: { code: "print('by hand')" } });
    const done = await harness.waitForEnd(response.body.id);
    expect(done.status).toBe('succeeded');
    expect(recoveries(done)).toEqual(['ask', 'code']);
  });

  test("a step's own recovery policy beats the execution's", async () => {
    harness.fake.script(answer.code("raise ValueError('bad data')"), answer.analysis('The step gave up at once.'));
    const done = await run({
      task: 'Abort on the first failure of this step.',
      plan: { steps: [{ id: 'main', title: 'Main', recovery: { CODE_ERROR: { strategy: 'abort' } } }] },
      options: { maxAttempts: 3, recovery: { CODE_ERROR: { strategy: 'retry', maxRetries: 2, backoffMs: 10 } } },
    });
    expect(done.status).toBe('failed');
    expect(done.steps[0].attempts).toHaveLength(1);
    expect(recoveries(done)).toEqual(['abort']);
  });

  test('fallback with a model writes the code again with that model', async () => {
    harness.fake.script(
      answer.code("raise KeyError('amount')"),
      answer.code("print('the stronger model fixed it')"),
      answer.analysis('Fixed by the fallback model.'),
    );
    const done = await run({
      task: 'Fall back to a stronger model.',
      plan: { steps: [{ id: 'main', title: 'Main' }] },
      options: { recovery: { CODE_ERROR: { strategy: 'fallback', model: 'stronger-model' } } },
    });
    expect(done.status).toBe('succeeded');
    // The same failure is then recorded as a 'regenerate' too; the first recovery is the fallback.
    expect(recoveries(done)[0]).toBe('fallback');
    const fallback = done.timeline.find((event) => event.event === 'RECOVERY_INITIATED');
    expect(fallback?.description).toBe('CODE_ERROR: trying model stronger-model');
    expect(done.steps[0].attempts[1].stdout).toBe('the stronger model fixed it\n');
    const models = harness.fake.requests.map((request) => `${request.purpose}:${request.model}`);
    expect(models).toEqual(['code:fake-model', 'code:stronger-model', 'analysis:fake-model']);
    // The fallback model was told what went wrong.
    expect(harness.fake.requests[1].user).toContain('KeyError');
  });

  test('an invalid recovery setting is refused', async () => {
    const response = await harness.request('POST', '/api/executions', {
      code: 'print(1)',
      options: { recovery: { CODE_ERROR: { strategy: 'pray' } } },
    });
    expect(response.status).toBe(422);
    expect(response.body.error.details.issues[0].path).toContain('options.recovery.CODE_ERROR');
  });

  test('past the budget the execution waits; a raise lets it go on', async () => {
    harness.fake.script(answer.plan(), answer.code("print('within budget')"), answer.analysis('Done.'));
    const response = await harness.request('POST', '/api/executions', {
      task: 'Cost a little.',
      options: { budgetUsd: 0.0001 },
    });
    const id = response.body.id as string;
    const waiting = await harness.waitFor(id, (snapshot) => snapshot.status === 'awaiting_input');
    expect(waiting.awaiting?.kind).toBe('budget');
    expect(waiting.awaiting?.prompt).toContain('Raise the budget or stop');
    expect(harness.fake.requests).toHaveLength(0);

    const wrong = await harness.request('POST', `/api/executions/${id}/input`, { approve: true });
    expect(wrong.status).toBe(422);
    expect(
      (await harness.request('POST', `/api/executions/${id}/input`, { approve: true, input: { budgetUsd: 10 } }))
        .status,
    ).toBe(202);
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('succeeded');
    expect(done.metrics.costUsd).toBeGreaterThan(0.0001);
    expect(done.metrics.costUsd).toBeLessThan(10);
  });

  test('stopping at the budget cancels the execution', async () => {
    const response = await harness.request('POST', '/api/executions', {
      task: 'Cost too much.',
      options: { budgetUsd: 0.05 },
    });
    const id = response.body.id as string;
    // Before the first call the estimate is a typical call: 1,500 tokens, $0.15 at these prices.
    const waiting = await harness.waitFor(id, (snapshot) => snapshot.status === 'awaiting_input', 30_000);
    expect(waiting.awaiting?.kind).toBe('budget');
    expect(waiting.awaiting?.prompt).toContain('$0.1500');
    await harness.request('POST', `/api/executions/${id}/input`, { approve: false });
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('cancelled');
    expect(done.error?.message).toBe('stopped at the budget');
    expect(harness.fake.requests).toHaveLength(0);
  });
});
