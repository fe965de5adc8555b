import { createServer } from 'node:net';
import { LlmError, createOpenAiClient } from '../../src/llm/llm-client';
import { FakeModel } from '../support/fake-model';

/** Which endpoint answers are worth another try: the table the activities' retry policy relies on. */
describe('the model client against a real OpenAI-compatible endpoint', () => {
  const fake = new FakeModel();
  let client: ReturnType<typeof createOpenAiClient>;

  beforeAll(async () => {
    client = createOpenAiClient({ baseUrl: await fake.start(), apiKey: 'test-key', timeoutMs: 10_000 });
  });
  afterAll(() => fake.stop());
  afterEach(() => {
    expect(fake.problems).toEqual([]);
    expect(fake.pending).toBe(0);
    fake.reset();
  });

  const failureOf = async (status: number): Promise<LlmError> => {
    fake.script({ purpose: 'plan', status, message: `status ${status}` });
    const error = await client.chat({ model: 'fake-model', system: 'You plan', user: 'x' }).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(LlmError);
    return error as LlmError;
  };

  test.each([
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [422, false],
    [408, true],
    [409, true],
    [429, true],
    [500, true],
    [502, true],
    [503, true],
  ])('an answer of %i is retryable: %p', async (status, retryable) => {
    const error = await failureOf(status);
    expect(error.retryable).toBe(retryable);
    expect(error.status).toBe(status);
    expect(error.message).toContain(`model endpoint answered ${status}`);
  });

  test('an endpoint that cannot be reached is retryable', async () => {
    // A port that was just free: nothing listens on it.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as { port: number };
        server.close(() => resolve(free));
      });
    });
    const offline = createOpenAiClient({ baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: 'k', timeoutMs: 5000 });
    const error = await offline.chat({ model: 'm', system: 'You plan', user: 'x' }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).retryable).toBe(true);
    expect((error as LlmError).message).toContain('model endpoint unreachable');
  });

  test('an answer gives its text and token usage, and JSON mode is asked for when wanted', async () => {
    fake.script({ purpose: 'plan', content: '{"steps": []}' });
    const response = await client.chat({ model: 'fake-model', system: 'You plan', user: 'the task', json: true });
    expect(response.text).toBe('{"steps": []}');
    expect(response.usage.prompt).toBeGreaterThan(0);
    expect(response.usage.completion).toBeGreaterThan(0);
    expect(fake.requests[0]).toMatchObject({ model: 'fake-model', user: 'the task', json: true });
  });
});
