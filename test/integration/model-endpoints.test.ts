import type { ExecutionSnapshot, TimelineEvent } from '../../src/domain/types';
import { answer, type Reply } from '../support/fake-model';
import { base64, useHarness } from '../support/harness';
import { readEvents, type SseEvent } from '../support/sse';

/** A stalled call is given up after this long: short, so that the hang test is quick. */
const LLM_TIMEOUT_MS = 2000;

/**
 * The model layer against endpoints that behave differently, through the real `openai` client, the
 * real workflow and Temporal's retry policy: structured outputs and their fallbacks, faults told
 * apart, a chain of models, the timeline of calls, and answers streamed to the live view.
 */
describe('model endpoints that behave differently', () => {
  const harness = useHarness({ env: { LLM_TIMEOUT_MS: String(LLM_TIMEOUT_MS) } });

  const start = async (body: Record<string, unknown>): Promise<string> => {
    const response = await harness.request('POST', '/api/executions', body);
    expect(response.status).toBe(202);
    return response.body.id as string;
  };
  const run = async (body: Record<string, unknown>): Promise<ExecutionSnapshot> =>
    harness.waitForEnd(await start(body), 90_000);
  const events = (snapshot: ExecutionSnapshot, name: string): TimelineEvent[] =>
    snapshot.timeline.filter((event) => event.event === name);
  const simple: Reply[] = [answer.plan(), answer.code("print('done')"), answer.analysis('It is done.')];

  test('each call is on the timeline with its model, tokens, latency and cost; the plan is asked for by JSON schema', async () => {
    harness.fake.script(...simple);
    const done = await run({ task: 'Say done.', options: { model: 'gpt-4o-mini' } });
    expect(done.status).toBe('succeeded');
    const calls = events(done, 'MODEL_CALL');
    expect(calls.map((event) => [event.data?.purpose, event.data?.model, event.stepId])).toEqual([
      ['plan', 'gpt-4o-mini', null],
      ['code', 'gpt-4o-mini', 'main'],
      ['analysis', 'gpt-4o-mini', null],
    ]);
    expect(calls[0].data?.format).toBe('json_schema');
    for (const call of calls) {
      expect(call.data?.promptTokens).toBeGreaterThan(0);
      expect(call.data?.completionTokens).toBeGreaterThan(0);
      expect(call.data?.latencyMs).toBeGreaterThanOrEqual(0);
      // gpt-4o-mini has a list price: each call costs something.
      expect(call.data?.costUsd).toBeGreaterThan(0);
    }
    const sum = (field: string) => calls.reduce((total, event) => total + Number(event.data?.[field]), 0);
    expect(done.metrics.tokens).toEqual({ prompt: sum('promptTokens'), completion: sum('completionTokens') });
    expect(harness.fake.requests[0]).toMatchObject({ format: 'json_schema', stream: false });
    expect(harness.fake.requests[0].schema).toMatchObject({ required: ['steps'], additionalProperties: false });
    // Code and the analysis are streamed.
    expect(harness.fake.requests.slice(1).map((request) => request.stream)).toEqual([true, true]);
    expect(events(done, 'MODEL_FALLBACK')).toEqual([]);
  });

  test('an endpoint that refuses json_schema is asked for json_object, said on the timeline once per worker', async () => {
    harness.fake.behave({ refuses: ['json_schema'] });
    harness.fake.script(...simple, ...simple);
    const first = await run({ task: 'First without schemas.', options: { model: 'no-schema-model' } });
    const second = await run({ task: 'Second without schemas.', options: { model: 'no-schema-model' } });
    expect([first.status, second.status]).toEqual(['succeeded', 'succeeded']);
    const fallbacks = events(first, 'MODEL_FALLBACK');
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0].description).toContain('refused json_schema answers for no-schema-model');
    expect(fallbacks[0].description).toContain('asked for json_object from now on');
    expect(
      first.messages.some((message) => message.level === 'warning' && message.message.includes('json_object')),
    ).toBe(true);
    expect(events(second, 'MODEL_FALLBACK')).toEqual([]);
    expect(events(second, 'MODEL_CALL')[0].data?.format).toBe('json_object');
    expect(
      harness.fake.requests.filter((request) => request.purpose === 'plan').map((request) => request.format),
    ).toEqual(['json_schema', 'json_object', 'json_object']);
  });

  test('an endpoint that ignores response_format and answers in prose: the plan is read out of the prose', async () => {
    harness.fake.behave({ ignoresFormat: true });
    harness.fake.script(...simple);
    const done = await run({ task: 'Plan in prose.' });
    expect(done.status).toBe('succeeded');
    expect(done.plan?.steps.map((step) => step.id)).toEqual(['main']);
    expect(done.steps[0].attempts[0].stdout).toBe('done\n');
    expect(done.result?.analysis).toContain('It is done.');
  });

  test('an answer that is not a valid plan is asked for again once, with what is wrong, in the same attempt', async () => {
    harness.fake.script({ purpose: 'plan', content: '{"steps": []}' }, ...simple);
    const id = await start({ task: 'Plan on the second try.' });
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('succeeded');
    const plans = harness.fake.requests.filter((request) => request.purpose === 'plan');
    expect(plans).toHaveLength(2);
    expect(plans[1].user).toContain('Your previous answer was:\n{"steps": []}');
    expect(plans[1].user).toMatch(/It is not a valid plan:\n- steps: /);
    expect(events(done, 'MODEL_CALL').filter((event) => event.data?.purpose === 'plan')).toHaveLength(2);
    // Both calls were made by the first attempt of the activity: no retry of Temporal's was needed.
    const history = await harness.client.workflow.getHandle(id).fetchHistory();
    const attempts = (history.events ?? [])
      .filter((event) => event.activityTaskStartedEventAttributes)
      .map((event) => event.activityTaskStartedEventAttributes?.attempt);
    expect(attempts.every((attempt) => attempt === 1)).toBe(true);
  });

  test("a rate limit is retried after the endpoint's retry-after, not the policy's one second", async () => {
    harness.fake.script(
      { purpose: 'plan', status: 429, message: 'Rate limit reached', headers: { 'retry-after': '3' } },
      ...simple,
    );
    const done = await run({ task: 'Plan after a rate limit.' });
    expect(done.status).toBe('succeeded');
    const [limited, retried] = harness.fake.requests;
    expect(retried.at - limited.at).toBeGreaterThanOrEqual(2900);
  });

  test('an endpoint that keeps failing ends the execution with LLM_UNAVAILABLE once the policy gives up', async () => {
    const down: Reply = { purpose: 'plan', status: 503, message: 'overloaded', headers: { 'retry-after-ms': '100' } };
    harness.fake.script(down, down, down, down, down);
    const done = await run({ task: 'Plan against a down endpoint.' });
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('LLM_UNAVAILABLE');
    expect(done.error?.message).toContain('503');
    expect(harness.fake.count('plan')).toBe(5);
  });

  test('an endpoint that hangs: the call is given up after LLM_TIMEOUT_MS and tried again', async () => {
    harness.fake.script({ purpose: 'plan', hang: true }, ...simple);
    const done = await run({ task: 'Plan past a hang.' });
    expect(done.status).toBe('succeeded');
    const [hung, retried] = harness.fake.requests;
    expect(retried.at - hung.at).toBeGreaterThanOrEqual(LLM_TIMEOUT_MS);
  });

  describe('a prompt too long for the model', () => {
    // A wide file: its preview alone is longer than the brief prompt keeps of a file.
    const header = Array.from({ length: 40 }, (_, i) => `a_rather_long_column_name_${i}`).join(',');
    const rows = Array.from({ length: 8 }, (_, r) => Array.from({ length: 40 }, (_, i) => r * i).join(','));
    const wide = { name: 'wide.csv', content: base64([header, ...rows].join('\n')) };
    const tooLong: Reply = {
      purpose: 'plan',
      status: 400,
      message: "This model's maximum context length is 512 tokens. However, your messages resulted in 900 tokens.",
      code: 'context_length_exceeded',
    };

    test('is asked again once with a shorter prompt', async () => {
      harness.fake.script(tooLong, ...simple);
      const done = await run({ task: 'Plan a wide file.', files: [wide] });
      expect(done.status).toBe('succeeded');
      const [first, shorter] = harness.fake.requests;
      expect(shorter.purpose).toBe('plan');
      expect(shorter.user.length).toBeLessThan(first.user.length - 500);
      expect(events(done, 'MODEL_FALLBACK').map((event) => event.description)).toEqual([
        'the prompt was too long for fake-model; it was asked again with a shorter one',
      ]);
    });

    test('fails with LLM_CONTEXT_TOO_LONG when the shorter one is too long too, without retries', async () => {
      harness.fake.script(tooLong, tooLong);
      const done = await run({ task: 'Plan a wide file again.', files: [wide] });
      expect(done.status).toBe('failed');
      expect(done.error?.code).toBe('LLM_CONTEXT_TOO_LONG');
      expect(done.error?.message).toContain('the prompt is too long for the model "fake-model"');
      expect(harness.fake.requests).toHaveLength(2);
    });
  });

  test('options.models is a chain: a model the endpoint does not serve hands over to the next, for good', async () => {
    harness.fake.script(
      { purpose: 'plan', status: 404, message: 'The model `missing-model` does not exist', code: 'model_not_found' },
      ...simple,
    );
    const done = await run({ task: 'Plan with a chain.', options: { models: ['missing-model', 'fake-model'] } });
    expect(done.status).toBe('succeeded');
    expect(harness.fake.requests.map((request) => request.model)).toEqual([
      'missing-model',
      'fake-model',
      'fake-model',
      'fake-model',
    ]);
    const notes = events(done, 'MODEL_FALLBACK').map((event) => event.description);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^missing-model could not answer \(.*404.*\); asking fake-model instead$/);
    expect(events(done, 'MODEL_CALL').map((event) => event.data?.model)).toEqual([
      'fake-model',
      'fake-model',
      'fake-model',
    ]);
  });

  test('options.model must head options.models when both are given', async () => {
    const response = await harness.request('POST', '/api/executions', {
      task: 'x',
      options: { model: 'a', models: ['b', 'a'] },
    });
    expect(response.status).toBe(422);
    expect(JSON.stringify(response.body)).toContain('options.model, when given with options.models, must be the first');
  });

  test('code and the analysis reach the live stream as token events while the model writes them', async () => {
    const code = Array.from({ length: 12 }, (_, i) => `print('line ${i} of a program written slowly')`).join('\n');
    const codeAnswer = `\`\`\`python\n${code}\n\`\`\``;
    const analysis = Array.from({ length: 6 }, (_, i) => `Line group ${i} was printed as the program said.`).join(' ');
    // About 3 s for the code and 2 s for the analysis, in 24-character pieces.
    harness.fake.behave({ streamPieceChars: 24, streamPieceDelayMs: 140 });
    harness.fake.script(answer.plan(), { purpose: 'code', content: codeAnswer }, answer.analysis(analysis));
    const id = await start({ task: 'Print twelve lines.' });
    const received: SseEvent[] = await readEvents(`${harness.baseUrl}/api/executions/${id}/events`, {
      timeoutMs: 60_000,
    });
    expect(received.at(-1)?.event).toBe('end');
    const tokens = (phase: string) => received.filter((event) => event.event === 'token' && event.data.phase === phase);
    const generating = tokens('generating');
    // Several events while the code was being written, their text the answer in order, none repeated
    // (the text after the last heartbeat comes with the update that records the attempt).
    expect(generating.length).toBeGreaterThanOrEqual(2);
    expect(generating.every((event) => event.data.stepId === 'main' && event.data.attempt === 1)).toBe(true);
    const streamedCode = generating.map((event) => event.data.text).join('');
    expect(streamedCode.length).toBeGreaterThanOrEqual(48);
    expect(codeAnswer.startsWith(streamedCode)).toBe(true);
    const codeDone = harness.fake.requests[1].at + 140 * Math.ceil(codeAnswer.length / 24);
    expect(generating[0].receivedAt).toBeLessThan(codeDone);
    const analyzing = tokens('analyzing');
    expect(analyzing.length).toBeGreaterThanOrEqual(1);
    expect(analyzing.every((event) => event.data.stepId === null)).toBe(true);
    const streamedAnalysis = analyzing.map((event) => event.data.text).join('');
    expect(streamedAnalysis.length).toBeGreaterThanOrEqual(24);
    expect(analysis.startsWith(streamedAnalysis)).toBe(true);
    // What the record keeps is the final text.
    const done = await harness.waitForEnd(id);
    expect(done.steps[0].attempts[0].code).toBe(code);
    expect(done.result?.analysis).toBe(analysis);
  });
});

describe('imports checked against the sandbox', () => {
  const harness = useHarness();

  test("an import of a module the sandbox's Python lacks is refused before it runs, and the model is told what there is", async () => {
    harness.fake.script(
      answer.plan(),
      answer.code('import tensorflow as tf\nprint(tf.__version__)'),
      answer.code("print('without tensorflow')"),
      answer.analysis('It ran without it.'),
    );
    const response = await harness.request('POST', '/api/executions', { task: 'Use tensorflow.' });
    const done = await harness.waitForEnd(response.body.id);
    expect(done.status).toBe('succeeded');
    const [refused, fixed] = done.steps[0].attempts;
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'VALIDATION_ERROR' } });
    expect(JSON.stringify(refused.error)).toContain("there is no module tensorflow in the sandbox's Python");
    expect(fixed.stdout).toBe('without tensorflow\n');
    // No sandbox run for the refused code: only the second attempt used the sandbox.
    expect(done.resourceUsage.map((usage) => usage.attempt)).toEqual([2]);
    const again = harness.fake.requests.filter((request) => request.purpose === 'code')[1];
    expect(again.user).toMatch(
      /there is no module tensorflow in the sandbox's Python; besides the standard library it has [^\n]*\bpandas\b/,
    );
    expect(again.user).toMatch(/\bmatplotlib\b/);
  });
});
