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
