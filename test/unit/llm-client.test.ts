import { createServer } from 'node:net';
import { planReplySchema } from '../../src/domain/plan-schema';
import { LlmError, createOpenAiClient, type LlmClient } from '../../src/llm/llm-client';
import { FakeModel } from '../support/fake-model';

const PLAN = JSON.stringify({ steps: [{ id: 'main', title: 'All of it', description: 'x', dependsOn: [] }] });
const schema = { name: 'plan', zod: planReplySchema };

/**
 * The model client against endpoints that behave differently, through the real `openai` client and
 * real HTTP: which failures are worth another try, how JSON is asked for, and streaming.
 */
describe('the model client against a real OpenAI-compatible endpoint', () => {
  const fake = new FakeModel();
  let client: LlmClient;

  beforeAll(async () => {
    client = createOpenAiClient({ baseUrl: await fake.start(), apiKey: 'test-key', timeoutMs: 1500 });
  });
  afterAll(() => fake.stop());
  afterEach(() => {
    expect(fake.problems).toEqual([]);
    expect(fake.pending).toBe(0);
    fake.reset();
  });

  const failure = async (model = 'fake-model'): Promise<LlmError> => {
    const error = await client.chat({ model, system: 'You plan', user: 'x' }).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(LlmError);
    return error as LlmError;
  };

  test.each([
    [400, 'refused', false],
    [401, 'auth', false],
    [403, 'auth', false],
    [404, 'unknown_model', false],
    [422, 'refused', false],
    [408, 'unavailable', true],
    [409, 'unavailable', true],
    [429, 'rate_limited', true],
    [500, 'unavailable', true],
    [502, 'unavailable', true],
    [503, 'unavailable', true],
  ])('an answer of %i is a failure of kind %s, retryable: %p', async (status, kind, retryable) => {
    fake.script({ purpose: 'plan', status, message: `status ${status}` });
    const error = await failure();
    expect(error).toMatchObject({ kind, retryable, status });
    expect(error.message).toContain(`model endpoint answered ${status}`);
  });

  test('a refused key and an unknown model name the setting that fixes them', async () => {
    fake.script({ purpose: 'plan', status: 401, message: 'Incorrect API key provided' });
    expect((await failure()).message).toMatch(/set OPENAI_API_KEY .* for the worker/);
    fake.script({ purpose: 'plan', status: 404, message: 'The model `nope` does not exist', code: 'model_not_found' });
    const unknown = await failure('nope');
    expect(unknown.message).toContain('does not serve the model "nope"');
    expect(unknown.message).toContain('set LLM_MODEL');
  });

  test("a rate limit carries the endpoint's retry-after, in seconds or in milliseconds", async () => {
    fake.script({ purpose: 'plan', status: 429, message: 'Rate limit reached', headers: { 'retry-after': '7' } });
    expect(await failure()).toMatchObject({ kind: 'rate_limited', retryAfterMs: 7000 });
    fake.script({ purpose: 'plan', status: 429, message: 'slow down', headers: { 'retry-after-ms': '250' } });
    expect(await failure()).toMatchObject({ kind: 'rate_limited', retryAfterMs: 250 });
    fake.script({ purpose: 'plan', status: 429, message: 'no hint' });
    expect((await failure()).retryAfterMs).toBeUndefined();
  });

  test('a context-length refusal is told apart from other refusals, by its code or its words', async () => {
    fake.script({
      purpose: 'plan',
      status: 400,
      message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
      code: 'context_length_exceeded',
    });
    expect(await failure()).toMatchObject({ kind: 'context_too_long', retryable: false, status: 400 });
    fake.script({ purpose: 'plan', status: 400, message: 'the request exceeds the available context size' });
    expect((await failure()).kind).toBe('context_too_long');
  });

  test('an endpoint that cannot be reached is a retryable failure', async () => {
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
    expect(error).toMatchObject({ kind: 'unavailable', retryable: true });
    expect((error as LlmError).message).toContain('model endpoint unreachable');
  });

  test('an endpoint that takes the request and never answers is a timeout after the timeout', async () => {
    fake.script({ purpose: 'plan', hang: true });
    const began = Date.now();
    const error = await failure();
    expect(error).toMatchObject({ kind: 'timeout', retryable: true });
    expect(Date.now() - began).toBeGreaterThanOrEqual(1400);
  });

  test('an answer gives its text, token usage and latency; no schema asks for plain text', async () => {
    fake.script({ purpose: 'analysis', content: 'It went well.' });
    const response = await client.chat({ model: 'fake-model', system: 'You explain', user: 'the results' });
    expect(response).toMatchObject({ text: 'It went well.', format: null, fellBack: null, usageEstimated: false });
    expect(response.usage.prompt).toBeGreaterThan(0);
    expect(response.usage.completion).toBeGreaterThan(0);
    expect(response.latencyMs).toBeGreaterThanOrEqual(0);
    expect(fake.requests[0]).toMatchObject({ model: 'fake-model', format: 'text', stream: false });
  });

  test('JSON is asked for with the strict JSON schema made from the zod schema', async () => {
    fake.script({ purpose: 'plan', content: PLAN });
    const response = await client.chat({ model: 'schema-model', system: 'You plan', user: 'the task', schema });
    expect(response).toMatchObject({ text: PLAN, format: 'json_schema', fellBack: null });
    const sent = fake.requests[0];
    expect(sent.format).toBe('json_schema');
    expect(sent.schema).toMatchObject({
      type: 'object',
      required: ['steps'],
      additionalProperties: false,
      properties: {
        steps: {
          type: 'array',
          items: { required: ['id', 'title', 'description', 'dependsOn'], additionalProperties: false },
        },
      },
    });
  });

  test('an endpoint that refuses json_schema gets json_object, remembered for that model only', async () => {
    fake.behave({ refuses: ['json_schema'] });
    fake.script(
      { purpose: 'plan', content: PLAN },
      { purpose: 'plan', content: PLAN },
      { purpose: 'plan', content: PLAN },
    );
    const first = await client.chat({ model: 'no-schema-model', system: 'You plan', user: 'a', schema });
    expect(first.format).toBe('json_object');
    expect(first.fellBack).toMatchObject({ from: 'json_schema', to: 'json_object' });
    expect(first.fellBack?.reason).toContain("response_format of type 'json_schema' is not supported");
    const second = await client.chat({ model: 'no-schema-model', system: 'You plan', user: 'b', schema });
    expect(second).toMatchObject({ format: 'json_object', fellBack: null });
    // Another model of the endpoint is tried with a schema first: the memory is per model.
    const other = await client.chat({ model: 'other-model', system: 'You plan', user: 'c', schema });
    expect(other.format).toBe('json_object');
    expect(fake.requests.map((request) => `${request.model}:${request.format}`)).toEqual([
      'no-schema-model:json_schema',
      'no-schema-model:json_object',
      'no-schema-model:json_object',
      'other-model:json_schema',
      'other-model:json_object',
    ]);
  });

  test('an endpoint that refuses every response format gets plain text', async () => {
    fake.behave({ refuses: ['json_schema', 'json_object'] });
    fake.script({ purpose: 'plan', content: PLAN });
    const response = await client.chat({ model: 'text-only-model', system: 'You plan', user: 'a', schema });
    expect(response).toMatchObject({ text: PLAN, format: 'text', fellBack: { from: 'json_schema', to: 'text' } });
    expect(fake.requests.map((request) => request.format)).toEqual(['json_schema', 'json_object', 'text']);
  });

  test('a streamed answer arrives in pieces, each call with the whole text so far, and ends with its usage', async () => {
    const text = 'print("a streamed program, long enough to come in several pieces")';
    fake.behave({ streamPieceChars: 10, streamPieceDelayMs: 20 });
    fake.script({ purpose: 'code', content: text });
    const seen: string[] = [];
    const response = await client.chat({
      model: 'fake-model',
      system: 'You write',
      user: 'code',
      onText: (sofar) => seen.push(sofar),
    });
    expect(response.text).toBe(text);
    expect(response.usageEstimated).toBe(false);
    expect(response.usage.completion).toBe(Math.ceil(text.length / 4));
    expect(fake.requests[0].stream).toBe(true);
    expect(seen.length).toBe(Math.ceil(text.length / 10));
    expect(seen.at(-1)).toBe(text);
    for (const [index, sofar] of seen.entries()) expect(sofar).toBe(text.slice(0, (index + 1) * 10));
  });

  test('a stream that stops sending is a timeout, though its answer had begun', async () => {
    fake.behave({ streamPieceChars: 5, streamPieceDelayMs: 2500 });
    fake.script({ purpose: 'code', content: 'print("never finished")' });
    const error = await client
      .chat({ model: 'fake-model', system: 'You write', user: 'code', onText: () => undefined })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(LlmError);
    expect(error).toMatchObject({ kind: 'timeout' });
    expect((error as LlmError).message).toContain('stopped sending its answer for 1500 ms');
  });
});
