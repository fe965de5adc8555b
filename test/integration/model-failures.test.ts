import { answer, type Reply } from '../support/fake-model';
import { useHarness } from '../support/harness';

/** How the model endpoint's failures reach the person, through the real openai client and Temporal's retry policy. */
describe('model endpoint failures', () => {
  const harness = useHarness();

  const run = async (body: Record<string, unknown>) => {
    const response = await harness.request('POST', '/api/executions', body);
    expect(response.status).toBe(202);
    return harness.waitForEnd(response.body.id, 120_000);
  };

  test('a refused key (401) fails the execution with LLM_ERROR after one call, without retries', async () => {
    harness.fake.script({ purpose: 'plan', status: 401, message: 'Incorrect API key provided' });
    const done = await run({ task: 'Plan with a bad key.' });
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('LLM_ERROR');
    expect(done.error?.message).toContain('401');
    expect(done.error?.message).toContain('set OPENAI_API_KEY');
    expect(harness.fake.requests).toHaveLength(1);
  });

  test('a rate limit (429) is retried by the activity, and the execution then succeeds', async () => {
    harness.fake.script(
      { purpose: 'plan', status: 429, message: 'Rate limit reached' },
      answer.plan(),
      { purpose: 'code', status: 503, message: 'overloaded' },
      answer.code("print('after the rate limit')"),
      answer.analysis('It ran once the endpoint let it.'),
    );
    const done = await run({ task: 'Plan despite a rate limit.' });
    expect(done.status).toBe('succeeded');
    expect(done.steps[0].attempts).toHaveLength(1);
    expect(done.steps[0].attempts[0].stdout).toBe('after the rate limit\n');
    expect(harness.fake.requests.map((request) => request.purpose)).toEqual([
      'plan',
      'plan',
      'code',
      'code',
      'analysis',
    ]);
  });

  describe('a failure the step’s model call throws reaches strategies of one’s own', () => {
    const strategy = (fields: Record<string, unknown>) => ({
      id: 'model-down',
      name: 'When the model refuses',
      applicableErrors: ['LLM_ERROR'],
      ...fields,
    });
    const recoveries = (done: Awaited<ReturnType<typeof run>>) =>
      done.timeline
        .filter((event) => event.event === 'RECOVERY_INITIATED')
        .map((event) => [event.data?.strategy, event.data?.customStrategy, event.description]);

    test('FALLBACK runs its code in place of the code the model could not write', async () => {
      harness.fake.script(
        answer.plan(),
        { purpose: 'code', status: 401, message: 'Incorrect API key provided' },
        answer.analysis('The fallback printed 42.'),
      );
      const done = await run({
        task: 'Answer even when code generation is refused.',
        options: {
          recoveryStrategies: [strategy({ action: 'FALLBACK', fallback: { code: "print('fallback', 6 * 7)" } })],
        },
      });
      expect(done.status).toBe('succeeded');
      expect(done.steps[0].attempts.map((attempt) => [attempt.author, attempt.stdout])).toEqual([
        ['caller', 'fallback 42\n'],
      ]);
      expect(recoveries(done)).toEqual([
        ['fallback', 'model-down', expect.stringMatching(/^LLM_ERROR: .*\(strategy "When the model refuses"\)$/)],
      ]);
      expect(harness.fake.requests.map((request) => request.purpose)).toEqual(['plan', 'code', 'analysis']);
    });

    test('RETRY asks the model again after its backoff', async () => {
      harness.fake.script(
        answer.plan(),
        { purpose: 'code', status: 401, message: 'Incorrect API key provided' },
        answer.code("print('second time lucky')"),
        answer.analysis('It worked the second time.'),
      );
      const done = await run({
        task: 'Ask again when code generation is refused.',
        options: { recoveryStrategies: [strategy({ action: 'RETRY', backoff: { initialMs: 50 } })] },
      });
      expect(done.status).toBe('succeeded');
      expect(done.steps[0].attempts.map((attempt) => attempt.stdout)).toEqual(['second time lucky\n']);
      expect(recoveries(done)).toEqual([
        ['retry', 'model-down', expect.stringContaining('LLM_ERROR: the model is asked again in 50 ms')],
      ]);
    });

    test('a strategy whose pattern does not match leaves the execution failed with the thrown error', async () => {
      harness.fake.script(answer.plan(), { purpose: 'code', status: 401, message: 'Incorrect API key provided' });
      const done = await run({
        task: 'Fail as before when no strategy takes the failure up.',
        options: {
          recoveryStrategies: [strategy({ action: 'SKIP', match: 'quota' })],
        },
      });
      expect(done.status).toBe('failed');
      expect(done.error?.code).toBe('LLM_ERROR');
      expect(recoveries(done)).toEqual([]);
    });
  });

  test('a plan that is never valid fails with LLM_BAD_OUTPUT once the retry policy gives up', async () => {
    // The LLM activity's policy allows five attempts (src/workflows/activity-options.ts); each asks
    // twice, the second time with what was wrong with the first answer.
    const invalid: Reply[] = [
      { purpose: 'plan', content: 'I would rather not answer in JSON.' },
      { purpose: 'plan', content: '{"steps": []}' },
      { purpose: 'plan', content: '{"steps": [{"id": "a", "title": "A", "dependsOn": ["nowhere"]}]}' },
      { purpose: 'plan', content: 'still no plan' },
      { purpose: 'plan', content: '{"plan": "none"}' },
    ];
    harness.fake.script(...invalid, ...invalid);
    const done = await run({ task: 'Plan badly.' });
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('LLM_BAD_OUTPUT');
    expect(harness.fake.count('plan')).toBe(10);
    expect(harness.fake.count('code')).toBe(0);
  });
});
