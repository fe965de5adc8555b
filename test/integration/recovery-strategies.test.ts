/**
 * Recovery strategies of one's own: registered by a tenant through the gateway, or sent with one
 * execution, and consulted by the workflow before the built-in ones. Code-only executions, so that
 * no model is involved: what runs next is the strategy's doing alone.
 */
import type { ExecutionSnapshot } from '../../src/domain/types';
import { useHarness } from '../support/harness';

const recoveries = (snapshot: ExecutionSnapshot) =>
  snapshot.timeline
    .filter((event) => event.event === 'RECOVERY_INITIATED')
    .map((event) => ({
      strategy: event.data?.strategy,
      custom: event.data?.customStrategy ?? null,
      backoffMs: event.data?.backoffMs ?? null,
      description: event.description,
    }));

describe('recovery strategies of one’s own', () => {
  // The gateway offers E2B, which the worker cannot run: a run there throws SANDBOX_UNAVAILABLE.
  const harness = useHarness({
    model: false,
    env: { ADMIN_API_KEY: 'operator-key', E2B_API_KEY: 'gateway-only' },
    workerEnv: { E2B_API_KEY: '' },
  });
  harness.defaultHeaders = { authorization: 'Bearer operator-key' };
  let acme: Record<string, string>;
  let globex: Record<string, string>;
  let acmeReader: Record<string, string>;

  const run = async (as: Record<string, string>, body: Record<string, unknown>) => {
    const response = await harness.request('POST', '/api/executions', body, as);
    expect(response.status).toBe(202);
    return harness.waitForEnd(response.body.id);
  };

  beforeAll(async () => {
    acme = await harness.keyFor('acme', ['read', 'run', 'admin']);
    globex = await harness.keyFor('globex', ['read', 'run', 'admin']);
    acmeReader = await harness.keyFor('acme', ['read']);
    const register = async (body: Record<string, unknown>) => {
      const response = await harness.request('POST', '/api/recovery-strategies', body, acme);
      expect(response.status).toBe(201);
      return response.body;
    };
    await register({
      id: 'zero-division',
      name: 'Fall back on division by zero',
      description: 'Our data has empty groups; print nothing rather than fail.',
      applicableErrors: ['CODE_ERROR'],
      match: 'ZeroDivisionError',
      action: 'FALLBACK',
      fallback: { code: "print('fell back')" },
    });
    await register({
      id: 'flaky-source',
      name: 'Rerun a flaky source',
      applicableErrors: ['CODE_ERROR'],
      match: 'source unavailable',
      action: 'RETRY',
      maxRetries: 2,
      backoff: { initialMs: 100, multiplier: 3 },
    });
  });

  test('a registered strategy is shown with its defaults; a second one with its id is 409; bad ones 422', async () => {
    const listed = await harness.request('GET', '/api/recovery-strategies', undefined, acmeReader);
    expect(listed.status).toBe(200);
    expect(listed.body.strategies.map((strategy: { id: string }) => strategy.id)).toEqual([
      'zero-division',
      'flaky-source',
    ]);
    expect(listed.body.strategies[1]).toMatchObject({
      maxRetries: 2,
      backoff: { initialMs: 100, multiplier: 3, maxMs: 300_000 },
      description: '',
      createdAt: expect.any(String),
    });

    const again = await harness.request(
      'POST',
      '/api/recovery-strategies',
      { id: 'zero-division', name: 'x', applicableErrors: ['CODE_ERROR'], action: 'ABORT' },
      acme,
    );
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('STRATEGY_EXISTS');

    const badPattern = await harness.request(
      'POST',
      '/api/recovery-strategies',
      { id: 'bad', name: 'x', applicableErrors: ['CODE_ERROR'], match: '(unclosed', action: 'ABORT' },
      acme,
    );
    expect(badPattern.status).toBe(422);
    expect(badPattern.body.error.message).toContain('match: not a valid regular expression');

    const unanswerable = await harness.request(
      'POST',
      '/api/recovery-strategies',
      { id: 'bad', name: 'x', applicableErrors: ['INTERNAL'], action: 'ABORT' },
      acme,
    );
    expect(unanswerable.status).toBe(422);
    expect(unanswerable.body.error.message).toContain('applicableErrors.0');

    const readerMay = await harness.request(
      'POST',
      '/api/recovery-strategies',
      { id: 'mine', name: 'x', applicableErrors: ['CODE_ERROR'], action: 'ABORT' },
      acmeReader,
    );
    expect(readerMay.status).toBe(403);
  });

  test('the tenant’s strategy chosen by its pattern runs the fallback code, and the timeline names it', async () => {
    const done = await run(acme, { code: '1/0' });
    expect(done.status).toBe('succeeded');
    expect(done.steps[0].attempts.map((attempt) => attempt.code)).toEqual(['1/0', "print('fell back')"]);
    expect(done.steps[0].attempts[1].stdout).toContain('fell back');
    expect(recoveries(done)).toEqual([
      {
        strategy: 'fallback',
        custom: 'zero-division',
        backoffMs: null,
        description: expect.stringContaining('(strategy "Fall back on division by zero")'),
      },
    ]);
  });

  test('a RETRY strategy reruns with its own backoff as many times as it allows, then the built-in decides', async () => {
    const done = await run(acme, {
      code: "raise RuntimeError('source unavailable')",
      options: { maxAttempts: 5 },
    });
    // Two reruns, 100 ms then 300 ms; then the default (regenerate) cannot rewrite a caller's code: failed.
    expect(done.status).toBe('failed');
    expect(done.steps[0].attempts).toHaveLength(3);
    expect(recoveries(done).map(({ strategy, custom, backoffMs }) => [strategy, custom, backoffMs])).toEqual([
      ['retry', 'flaky-source', 100],
      ['retry', 'flaky-source', 300],
    ]);
  });

  test('an error no pattern matches gets the built-in strategy', async () => {
    const done = await run(acme, { code: "raise KeyError('region')" });
    expect(done.status).toBe('failed');
    expect(done.steps[0].attempts).toHaveLength(1);
    expect(recoveries(done)).toEqual([]);
  });

  test('an execution’s own strategy beats the tenant’s of the same id', async () => {
    const done = await run(acme, {
      code: '1/0',
      options: {
        maxAttempts: 4,
        recoveryStrategies: [
          { id: 'zero-division', name: 'Stop at once', applicableErrors: ['CODE_ERROR'], action: 'ABORT' },
        ],
      },
    });
    expect(done.status).toBe('failed');
    expect(done.steps[0].attempts).toHaveLength(1);
    expect(recoveries(done).map(({ strategy, custom }) => [strategy, custom])).toEqual([['abort', 'zero-division']]);
  });

  test('a sandbox that cannot be had is a failed attempt a strategy may answer; its release is recorded', async () => {
    const released = (snapshot: ExecutionSnapshot) =>
      snapshot.timeline.filter((event) => event.event === 'RESOURCE_RELEASED').map((event) => event.data?.error);
    const unanswered = await run(acme, { code: 'print(1)', options: { sandbox: 'e2b' } });
    expect(unanswered.status).toBe('failed');
    expect(unanswered.error?.code).toBe('SANDBOX_UNAVAILABLE');
    expect(released(unanswered)).toEqual(['SANDBOX_UNAVAILABLE']);

    const skipped = await run(acme, {
      code: 'print(1)',
      options: {
        sandbox: 'e2b',
        recoveryStrategies: [
          {
            id: 'no-sandbox',
            name: 'Skip without a sandbox',
            applicableErrors: ['SANDBOX_UNAVAILABLE'],
            action: 'SKIP',
          },
        ],
      },
    });
    expect(skipped.steps[0].status).toBe('skipped');
    expect(skipped.steps[0].attempts.map((attempt) => [attempt.status, attempt.error?.code])).toEqual([
      ['failed', 'SANDBOX_UNAVAILABLE'],
    ]);
    expect(released(skipped)).toEqual(['SANDBOX_UNAVAILABLE']);
    expect(recoveries(skipped).map(({ strategy, custom }) => [strategy, custom])).toEqual([['skip', 'no-sandbox']]);
    // As with any skipped step, the execution goes on without it.
    expect(skipped.status).toBe('succeeded');
  });

  test('another tenant neither sees nor gets them; a deleted one no longer applies', async () => {
    expect((await harness.request('GET', '/api/recovery-strategies', undefined, globex)).body.strategies).toEqual([]);
    expect((await harness.request('DELETE', '/api/recovery-strategies/zero-division', undefined, globex)).status).toBe(
      404,
    );
    const theirs = await run(globex, { code: '1/0' });
    expect(theirs.status).toBe('failed');
    expect(recoveries(theirs)).toEqual([]);

    expect((await harness.request('DELETE', '/api/recovery-strategies/zero-division', undefined, acme)).status).toBe(
      204,
    );
    expect((await harness.request('DELETE', '/api/recovery-strategies/zero-division', undefined, acme)).status).toBe(
      404,
    );
    const after = await run(acme, { code: '1/0' });
    expect(after.status).toBe('failed');
    expect(after.steps[0].attempts).toHaveLength(1);
  });
});
