/**
 * Tenants sharing one deployment, against the real stack: keys from the service's database
 * (SQLite here; the query layer is tested on PostgreSQL too in db.test.ts), the operator's key,
 * API_KEYS kept working, executions scoped by the `Tenant` search attribute.
 */
import type { ExecutionSnapshot } from '../../src/domain/types';
import { useHarness } from '../support/harness';

const OPERATOR = 'operator-secret-for-tests';
const LEGACY = 'legacy-key-for-tests';
const slow = "import time\nprint('started', flush=True)\ntime.sleep(30)";

describe('tenants and keys', () => {
  const harness = useHarness({ model: false, env: { ADMIN_API_KEY: OPERATOR, API_KEYS: LEGACY } });
  const as = (secret: string) => ({ authorization: `Bearer ${secret}` });

  const createKey = async (body: Record<string, unknown>, by = OPERATOR) => {
    const response = await harness.request('POST', '/api/keys', body, as(by));
    expect(response.status).toBe(201);
    return response.body as { id: string; secret: string; tenant: string; scopes: string[] };
  };
  const start = async (secret: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const response = await harness.request('POST', '/api/executions', body, { ...as(secret), ...headers });
    expect(response.status).toBe(202);
    return response.body.id as string;
  };
  const listed = async (secret: string, query = '') => {
    const response = await harness.request('GET', `/api/executions?pageSize=100${query}`, undefined, as(secret));
    expect(response.status).toBe(200);
    return (response.body.executions as Array<{ id: string }>).map((summary) => summary.id);
  };
  /** Waits until visibility lists `id` for `secret` (it is eventually consistent). */
  const eventuallyListed = async (secret: string, id: string, query = '') => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if ((await listed(secret, query)).includes(id)) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${id} was never listed`);
  };

  /** Polls the snapshot with `secret` until `until` holds. */
  const waitAs = async (secret: string, id: string, until: (snapshot: ExecutionSnapshot) => boolean) => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const response = await harness.request('GET', `/api/executions/${id}`, undefined, as(secret));
      if (response.status === 200 && until(response.body as ExecutionSnapshot))
        return response.body as ExecutionSnapshot;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${id} did not reach the expected state`);
  };

  let acme: { id: string; secret: string };
  let acmeReader: { id: string; secret: string };
  let acmeAdmin: { id: string; secret: string };
  let globex: { id: string; secret: string };

  beforeAll(async () => {
    acme = await createKey({ tenant: 'acme', name: 'ci', scopes: ['read', 'run'] });
    acmeReader = await createKey({ tenant: 'acme', name: 'dashboard', scopes: ['read'] });
    acmeAdmin = await createKey({ tenant: 'acme', name: 'admin', scopes: ['admin'] });
    globex = await createKey({ tenant: 'globex', name: 'ci', scopes: ['read', 'run'] });
  });

  test('requests without a key, or with a wrong one, are refused; /healthz stays open', async () => {
    expect((await harness.request('GET', '/api/executions')).status).toBe(401);
    const wrong = await harness.request('GET', '/api/executions', undefined, as('not-a-key'));
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('UNAUTHORIZED');
    const header = await harness.request('GET', '/api/executions', undefined, { 'x-api-key': acme.secret });
    expect(header.status).toBe(200);
    expect((await harness.request('GET', '/healthz')).status).toBe(200);
  });

  test("two tenants cannot see or steer each other's executions; the operator sees both", async () => {
    const ours = await start(acme.secret, { code: slow });
    const theirs = await start(globex.secret, { code: 'print(1)' });
    for (const route of [
      `/api/executions/${ours}`,
      `/api/executions/${ours}/events`,
      `/api/executions/${ours}/checkpoints`,
    ]) {
      const response = await harness.request('GET', route, undefined, as(globex.secret));
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe('NOT_FOUND');
    }
    for (const action of ['cancel', 'pause', 'resume']) {
      expect((await harness.request('POST', `/api/executions/${ours}/${action}`, {}, as(globex.secret))).status).toBe(
        404,
      );
    }
    const mine = await harness.request('GET', `/api/executions/${ours}`, undefined, as(acme.secret));
    expect(mine.status).toBe(200);
    expect(mine.body.tenant).toBe('acme');
    expect((await harness.request('GET', `/api/executions/${theirs}`, undefined, as(OPERATOR))).body.tenant).toBe(
      'globex',
    );

    await eventuallyListed(acme.secret, ours);
    await eventuallyListed(globex.secret, theirs);
    expect(await listed(acme.secret)).not.toContain(theirs);
    expect(await listed(globex.secret)).not.toContain(ours);
    await eventuallyListed(OPERATOR, ours);
    await eventuallyListed(OPERATOR, theirs);
    expect(await listed(OPERATOR, '&tenant=globex')).not.toContain(ours);

    // The cancel records which key asked.
    await waitAs(acme.secret, ours, (snapshot) => snapshot.status === 'running');
    expect((await harness.request('POST', `/api/executions/${ours}/cancel`, {}, as(acme.secret))).status).toBe(202);
    const done = await waitAs(acme.secret, ours, (snapshot) => snapshot.completedAt !== null);
    expect(done.status).toBe('cancelled');
    expect(done.messages.map((message) => message.message)).toContain(
      `cancel requested by ${acme.id}: cancelled on request`,
    );
  });

  test("the operator's own executions are the default tenant's, listed with the older ones", async () => {
    const id = await start(OPERATOR, { code: 'print(1)' });
    expect((await harness.request('GET', `/api/executions/${id}`, undefined, as(OPERATOR))).body.tenant).toBe(
      'default',
    );
    await eventuallyListed(OPERATOR, id, '&tenant=default');
    expect(await listed(OPERATOR, '&tenant=acme')).not.toContain(id);
    expect((await harness.request('GET', `/api/executions/${id}`, undefined, as(acme.secret))).status).toBe(404);
  });

  test('the same Idempotency-Key from two tenants starts two executions; a repeat starts none', async () => {
    const key = { 'idempotency-key': 'nightly-2026-12-02' };
    const a = await start(acme.secret, { code: 'print(1)' }, key);
    const b = await start(globex.secret, { code: 'print(1)' }, key);
    expect(a).not.toBe(b);
    expect(await start(acme.secret, { code: 'print(2)' }, key)).toBe(a);
  });

  test('a key needs the scope of what it asks', async () => {
    const refused = await harness.request('POST', '/api/executions', { code: 'print(1)' }, as(acmeReader.secret));
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'FORBIDDEN', details: { scope: 'run' } });
    expect((await harness.request('GET', '/api/executions', undefined, as(acmeReader.secret))).status).toBe(200);
    expect((await harness.request('GET', '/api/keys', undefined, as(acme.secret))).status).toBe(403);
  });

  test("a tenant's admin manages its own keys only; a revoked key is refused at once", async () => {
    const own = await harness.request('GET', '/api/keys', undefined, as(acmeAdmin.secret));
    expect(own.status).toBe(200);
    const keys = own.body.keys as Array<{ id: string; tenant: string; secret?: string }>;
    expect(new Set(keys.map((key) => key.tenant))).toEqual(new Set(['acme']));
    expect(keys.some((key) => 'secret' in key)).toBe(false);

    const foreign = await harness.request(
      'POST',
      '/api/keys',
      { tenant: 'globex', name: 'x', scopes: ['read'] },
      as(acmeAdmin.secret),
    );
    expect(foreign.status).toBe(403);
    expect((await harness.request('DELETE', `/api/keys/${globex.id}`, undefined, as(acmeAdmin.secret))).status).toBe(
      404,
    );

    const temporary = await createKey({ name: 'temporary', scopes: ['read'] }, acmeAdmin.secret);
    expect(temporary.tenant).toBe('acme');
    expect((await harness.request('GET', '/api/executions', undefined, as(temporary.secret))).status).toBe(200);
    expect((await harness.request('DELETE', `/api/keys/${temporary.id}`, undefined, as(acmeAdmin.secret))).status).toBe(
      204,
    );
    expect((await harness.request('GET', '/api/executions', undefined, as(temporary.secret))).status).toBe(401);
    expect((await harness.request('DELETE', `/api/keys/${temporary.id}`, undefined, as(acmeAdmin.secret))).status).toBe(
      404,
    );
  });

  test('bad key requests are 422 with the field named', async () => {
    const noTenant = await harness.request('POST', '/api/keys', { name: 'x', scopes: ['read'] }, as(OPERATOR));
    expect(noTenant.status).toBe(422);
    expect(noTenant.body.error.message).toContain('tenant');
    const badScope = await harness.request(
      'POST',
      '/api/keys',
      { tenant: 'acme', name: 'x', scopes: ['root'] },
      as(OPERATOR),
    );
    expect(badScope.status).toBe(422);
    const past = await harness.request(
      'POST',
      '/api/keys',
      { tenant: 'acme', name: 'x', scopes: ['read'], expiresAt: '2020-01-01T00:00:00Z' },
      as(OPERATOR),
    );
    expect(past.status).toBe(422);
    expect(past.body.error.message).toContain('expiresAt');
  });

  test('a key from API_KEYS is a tenant of its own with read and run', async () => {
    const id = await start(LEGACY, { code: 'print(1)' });
    const own = await harness.request('GET', `/api/executions/${id}`, undefined, as(LEGACY));
    expect(own.status).toBe(200);
    expect(own.body.tenant).toMatch(/^k-[0-9a-f]{12}$/);
    expect((await harness.request('GET', `/api/executions/${id}`, undefined, as(acme.secret))).status).toBe(404);
    expect((await harness.request('GET', '/api/keys', undefined, as(LEGACY))).status).toBe(403);
  });
});

describe('the request rate per key', () => {
  const harness = useHarness({ model: false, env: { API_KEYS: 'rate-key,other-key', RATE_LIMIT_PER_MINUTE: '3' } });

  test('past the limit a key gets 429 with Retry-After, and another key is unaffected', async () => {
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof harness.request>> | null = null;
    for (let i = 0; i < 4; i++) {
      last = await harness.request('GET', '/api/executions', undefined, { authorization: 'Bearer rate-key' });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(last!.body.error.code).toBe('RATE_LIMITED');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const other = await harness.request('GET', '/api/executions', undefined, { authorization: 'Bearer other-key' });
    expect(other.status).toBe(200);
  });
});
