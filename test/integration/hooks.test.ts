/** Inbound webhooks of named tasks: signed deliveries start runs, against the real stack. */
import { signDelivery } from '../../src/api/hook-signature';
import { useHarness } from '../support/harness';

describe('inbound webhooks', () => {
  const harness = useHarness({ model: false, env: { ADMIN_API_KEY: 'operator-key' } });
  const operator = { authorization: 'Bearer operator-key' };
  harness.defaultHeaders = operator;
  const call = (method: string, route: string, body?: unknown) => harness.request(method, route, body, operator);

  /** Sends a delivery signed with `secret` (or a given header) and answers what the gateway said. */
  const deliver = (
    url: string,
    body: unknown,
    secret: string,
    headers: Record<string, string> = {},
    at = Date.now(),
  ) => {
    const raw = JSON.stringify(body);
    const t = Math.floor(at / 1000);
    return harness.request('POST', url, raw, {
      'content-type': 'application/json',
      'x-signature': `t=${t},v1=${signDelivery(secret, t, raw)}`,
      ...headers,
    });
  };

  let hook: { id: string; url: string; secret: string };

  beforeAll(async () => {
    const task = await call('POST', '/api/tasks', {
      slug: 'echo',
      title: 'Echo',
      description: 'Echo {{word}}',
      parameters: { properties: { word: { type: 'string' } }, required: ['word'] },
      code: "print('echo ran')",
    });
    expect(task.status).toBe(201);
    const created = await call('POST', '/api/tasks/echo/hooks', {});
    expect(created.status).toBe(201);
    hook = created.body;
    expect(hook.url).toBe(`/api/hooks/${hook.id}`);
    expect(hook.secret).toMatch(/^whsec_/);
  });

  test('a signed delivery starts a run with triggeredBy webhook; the body maps onto the parameters', async () => {
    const started = await deliver(hook.url, { word: 'hello', unrelated: { deep: true } }, hook.secret);
    expect(started.status).toBe(202);
    const done = await harness.waitForEnd(started.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.triggeredBy).toBe('webhook');
    expect(done.task).toBe('Echo hello');
    expect(done.namedTask).toEqual({ slug: 'echo', version: 1 });
  });

  test('wrong, stale, missing and replayed signatures start nothing', async () => {
    expect((await deliver(hook.url, { word: 'x' }, 'whsec_wrong')).status).toBe(401);
    expect((await deliver(hook.url, { word: 'x' }, hook.secret, {}, Date.now() - 6 * 60_000)).status).toBe(401);
    const unsigned = await harness.request('POST', hook.url, JSON.stringify({ word: 'x' }), {
      'content-type': 'application/json',
    });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error.code).toBe('BAD_SIGNATURE');
    expect((await deliver('/api/hooks/hook_unknown', { word: 'x' }, hook.secret)).status).toBe(401);

    const raw = JSON.stringify({ word: 'once' });
    const t = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'x-signature': `t=${t},v1=${signDelivery(hook.secret, t, raw)}`,
    };
    expect((await harness.request('POST', hook.url, raw, headers)).status).toBe(202);
    const replay = await harness.request('POST', hook.url, raw, headers);
    expect(replay.status).toBe(401);
    expect(replay.body.error.message).toContain('used before');
    // A body changed under a good signature does not pass.
    expect((await harness.request('POST', hook.url, JSON.stringify({ word: 'twice' }), headers)).status).toBe(401);
  });

  test('a retried delivery with the same delivery id starts one execution', async () => {
    const first = await deliver(hook.url, { word: 'a' }, hook.secret, { 'x-delivery-id': 'd-1' });
    const again = await deliver(hook.url, { word: 'a' }, hook.secret, { 'x-delivery-id': 'd-1' }, Date.now() + 1000);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
  });

  test('bad inputs are 422 per field; rotation keeps the old secret for the grace period', async () => {
    const bad = await deliver(hook.url, { other: 1 }, hook.secret);
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues).toEqual([{ path: 'inputs.word', message: 'is required' }]);

    const rotated = await call('POST', `/api/tasks/echo/hooks/${hook.id}/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(hook.secret);
    expect((await deliver(hook.url, { word: 'old' }, hook.secret)).status).toBe(202);
    expect((await deliver(hook.url, { word: 'new' }, rotated.body.secret)).status).toBe(202);
    const listed = await call('GET', '/api/tasks/echo/hooks');
    expect(listed.body.hooks).toEqual([expect.objectContaining({ id: hook.id, url: hook.url })]);
    expect(JSON.stringify(listed.body)).not.toContain('whsec_');
  });

  test('a mapping picks fields by path; a deleted hook refuses deliveries', async () => {
    const mapped = await call('POST', '/api/tasks/echo/hooks', { mapping: { word: 'event.name' } });
    expect(mapped.status).toBe(201);
    const started = await deliver(mapped.body.url, { event: { name: 'mapped' } }, mapped.body.secret);
    expect(started.status).toBe(202);
    expect((await harness.waitForEnd(started.body.id)).task).toBe('Echo mapped');
    expect((await call('DELETE', `/api/tasks/echo/hooks/${mapped.body.id}`)).status).toBe(204);
    expect((await deliver(mapped.body.url, { event: { name: 'x' } }, mapped.body.secret)).status).toBe(401);
  });
});
