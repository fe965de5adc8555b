/**
 * The service's database through its one query layer, on both databases it supports: the embedded
 * SQLite file and a real PostgreSQL server (Debian's, started here).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type ServiceDatabase } from '../../src/db/database';
import { hashSecret, KeyStore } from '../../src/db/keys';
import { RecoveryStrategyStore } from '../../src/db/recovery-strategies';
import { ScheduleStore } from '../../src/db/schedules';
import { customStrategySchema } from '../../src/domain/custom-recovery-schema';
import { SubscriptionStore } from '../../src/db/subscriptions';
import { TaskStore } from '../../src/db/tasks';
import { freePort } from '../../src/dev/temporal-dev-server';
import { startPostgres, type LocalPostgres } from '../../src/dev/postgres';

const dir = mkdtempSync(path.join(os.tmpdir(), 'db-test-'));
// PostgreSQL runs as its own user, which must be able to reach its data folder.
chmodSync(dir, 0o755);
let postgres: LocalPostgres | null = null;

beforeAll(async () => {
  postgres = await startPostgres(path.join(dir, 'pg'), await freePort());
});

afterAll(async () => {
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['sqlite', () => ({ url: null, sqliteFile: path.join(dir, 'service.db') })],
  ['postgres', () => ({ url: postgres!.url, sqliteFile: '' })],
])('the database on %s', (kind, settings) => {
  let database: ServiceDatabase;
  let now = Date.parse('2026-12-01T00:00:00.000Z');
  let keys: KeyStore;

  beforeAll(async () => {
    database = await openDatabase(settings());
    keys = new KeyStore(database.db, () => new Date(now));
  });

  afterAll(async () => {
    await database.close();
  });

  test('opens the right kind and migrates again without harm', async () => {
    expect(database.kind).toBe(kind);
    const again = await openDatabase(settings());
    await again.close();
  });

  test('a key is stored as a hash, found by its secret, and shown without it', async () => {
    const { key, secret } = await keys.create({ tenant: 'acme', name: 'ci', scopes: ['read', 'run'], expiresAt: null });
    expect(secret).toMatch(/^ak_[A-Za-z0-9_-]{43}$/);
    expect(key).toEqual({
      id: expect.stringMatching(/^key_/),
      tenant: 'acme',
      name: 'ci',
      scopes: ['read', 'run'],
      createdAt: '2026-12-01T00:00:00.000Z',
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
    });
    const rows = await database.db.selectFrom('api_keys').selectAll().where('id', '=', key.id).execute();
    expect(rows[0].secret_hash).toBe(hashSecret(secret));
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(await keys.findBySecret(secret)).toEqual(key);
    expect(await keys.findBySecret(`${secret}x`)).toBeNull();
  });

  test('keys are listed per tenant; revoking works once and only within the tenant', async () => {
    const other = await keys.create({ tenant: 'globex', name: 'ops', scopes: ['admin'], expiresAt: null });
    now += 1000;
    const second = await keys.create({ tenant: 'acme', name: 'second', scopes: ['read'], expiresAt: null });
    expect((await keys.list('acme')).map((key) => key.name)).toEqual(['second', 'ci']);
    expect((await keys.list(null)).map((key) => key.tenant).sort()).toEqual(['acme', 'acme', 'globex']);
    expect(await keys.revoke(other.key.id, 'acme')).toBeNull();
    const revoked = await keys.revoke(second.key.id, 'acme');
    expect(revoked?.revokedAt).toBe(new Date(now).toISOString());
    expect(await keys.revoke(second.key.id, 'acme')).toBeNull();
    expect(await keys.findBySecret(second.secret)).toBeNull();
    expect(await keys.findBySecret(other.secret)).not.toBeNull();
  });

  test('named tasks keep every version; a new save after deleting continues the numbering', async () => {
    const tasks = new TaskStore(database.db, () => new Date(now));
    const definition = {
      title: 'Revenue',
      description: 'Revenue of {{region}}',
      parameters: { type: 'object' as const, properties: { region: { type: 'string' as const } }, required: [] },
      code: null,
      plan: { steps: [{ id: 'a', title: 'A', description: '', dependsOn: [] }] },
      options: { maxAttempts: 2 },
      files: [],
    };
    const first = await tasks.save('acme', 'revenue', definition, true);
    expect(first).toMatchObject({
      tenant: 'acme',
      slug: 'revenue',
      version: 1,
      plan: definition.plan,
      options: { maxAttempts: 2 },
    });
    expect(await tasks.save('acme', 'revenue', definition, true)).toBeNull();
    expect(await tasks.save('acme', 'missing', definition, false)).toBeNull();
    expect((await tasks.save('acme', 'revenue', { ...definition, title: 'Revenue 2' }, false))?.version).toBe(2);
    expect((await tasks.get('acme', 'revenue'))?.title).toBe('Revenue 2');
    expect((await tasks.get('acme', 'revenue', 1))?.title).toBe('Revenue');
    expect(await tasks.get('globex', 'revenue')).toBeNull();
    expect((await tasks.versions('acme', 'revenue')).map((v) => v.version)).toEqual([2, 1]);
    expect((await tasks.list('acme')).map((task) => [task.slug, task.version])).toEqual([['revenue', 2]]);
    expect(await tasks.delete('acme', 'revenue')).toBe(true);
    expect(await tasks.get('acme', 'revenue')).toBeNull();
    expect(await tasks.delete('acme', 'revenue')).toBe(false);
    expect((await tasks.save('acme', 'revenue', definition, true))?.version).toBe(3);
  });

  test('an expired key is not found; use is recorded', async () => {
    const { key, secret } = await keys.create({
      tenant: 'acme',
      name: 'short',
      scopes: ['read'],
      expiresAt: new Date(now + 60_000).toISOString(),
    });
    expect(await keys.findBySecret(secret)).not.toBeNull();
    await keys.touch(key.id);
    expect((await keys.list('acme')).find((k) => k.id === key.id)?.lastUsedAt).toBe(new Date(now).toISOString());
    now += 60_000;
    expect(await keys.findBySecret(secret)).toBeNull();
  });

  test('schedules are kept per tenant with their spec, pinned version or "latest", and inputs', async () => {
    const schedules = new ScheduleStore(database.db, () => new Date(now));
    const pinned = ScheduleStore.newId();
    const latest = ScheduleStore.newId();
    expect(pinned).toMatch(/^sched-[a-z0-9]{12}$/);
    await schedules.create({
      id: pinned,
      tenant: 'acme',
      slug: 'report',
      version: 2,
      inputs: { region: 'North', months: 3 },
      spec: { cron: '0 9 * * 1', timezone: 'Europe/Paris' },
      overlap: 'buffer_one',
    });
    await schedules.create({
      id: latest,
      tenant: 'acme',
      slug: 'report',
      version: 'latest',
      inputs: {},
      spec: { every: '1h', timezone: 'UTC' },
      overlap: 'skip',
    });
    expect(await schedules.get('acme', pinned)).toEqual({
      id: pinned,
      tenant: 'acme',
      slug: 'report',
      version: 2,
      inputs: { region: 'North', months: 3 },
      spec: { cron: '0 9 * * 1', timezone: 'Europe/Paris' },
      overlap: 'buffer_one',
      createdAt: new Date(now).toISOString(),
    });
    expect((await schedules.list('acme', 'report')).map((schedule) => schedule.version).sort()).toEqual([2, 'latest']);
    expect(await schedules.get('globex', pinned)).toBeNull();
    expect(await schedules.list('globex', 'report')).toEqual([]);
    expect(await schedules.delete('globex', pinned)).toBe(false);
    expect(await schedules.delete('acme', pinned)).toBe(true);
    expect(await schedules.get('acme', pinned)).toBeNull();
  });

  test("subscriptions: a tenant's and one execution's receive its events; deliveries are logged", async () => {
    const subscriptions = new SubscriptionStore(database.db, () => new Date(now));
    const all = await subscriptions.create({
      tenant: 'acme',
      url: 'https://a.example/in',
      events: ['completed'],
      secret: 's1',
    });
    const own = await subscriptions.create({
      tenant: 'acme',
      url: 'https://b.example/in',
      events: ['status', 'completed'],
      secret: 's2',
      executionId: 'exec-1',
    });
    expect(await subscriptions.any('acme')).toBe(true);
    expect(await subscriptions.any('globex')).toBe(false);
    expect((await subscriptions.list('acme')).map((subscription) => subscription.id)).toEqual([all.id]);
    expect((await subscriptions.recipients('acme', 'exec-1', 'completed')).sort()).toEqual([all.id, own.id].sort());
    expect(await subscriptions.recipients('acme', 'exec-1', 'status')).toEqual([own.id]);
    expect(await subscriptions.recipients('acme', 'exec-2', 'status')).toEqual([]);
    expect(await subscriptions.recipients('globex', 'exec-1', 'completed')).toEqual([]);
    expect((await subscriptions.forDelivery(own.id))?.secret).toBe('s2');

    await subscriptions.recordAttempt(all.id, {
      deliveryId: 'dlv_1',
      event: 'completed',
      executionId: 'exec-1',
      attempt: 1,
      outcome: 'failed',
      responseStatus: 503,
      responseBody: 'busy',
      error: 'the receiver answered 503',
      durationMs: 12,
    });
    now += 1000;
    await subscriptions.recordAttempt(all.id, {
      deliveryId: 'dlv_1',
      event: 'completed',
      executionId: 'exec-1',
      attempt: 2,
      outcome: 'delivered',
      responseStatus: 200,
      responseBody: 'x'.repeat(300),
      error: null,
      durationMs: 8,
    });
    expect(
      (await subscriptions.deliveries(all.id)).map((entry) => [
        entry.attempt,
        entry.outcome,
        entry.responseBody?.length,
      ]),
    ).toEqual([
      [2, 'delivered', 200],
      [1, 'failed', 4],
    ]);

    expect(await subscriptions.delete('globex', all.id)).toBe(false);
    expect(await subscriptions.delete('acme', all.id)).toBe(true);
    expect(await subscriptions.delete('acme', all.id)).toBe(false);
    expect(await subscriptions.forDelivery(all.id)).toBeNull();
    expect(await subscriptions.recipients('acme', 'exec-1', 'completed')).toEqual([own.id]);
  });
  test('recovery strategies are kept per tenant, in order, with their defaults; an id is taken once', async () => {
    const strategies = new RecoveryStrategyStore(database.db, () => new Date(now));
    const first = customStrategySchema.parse({
      id: 'zero-division',
      name: 'Skip divisions by zero',
      applicableErrors: ['CODE_ERROR'],
      match: 'ZeroDivisionError',
      action: 'SKIP',
    });
    const second = customStrategySchema.parse({
      id: 'flaky',
      name: 'Rerun',
      applicableErrors: ['SANDBOX_TIMEOUT', 'RESOURCE_EXHAUSTED'],
      action: 'RETRY',
      maxRetries: 3,
      backoff: { initialMs: 50 },
    });
    expect(await strategies.create('acme', first)).toMatchObject({
      id: 'zero-division',
      createdAt: expect.any(String),
    });
    now += 1000;
    expect(await strategies.create('acme', second)).not.toBeNull();
    expect(await strategies.create('acme', { ...second, name: 'again' })).toBeNull();
    expect(await strategies.create('globex', { ...second, name: 'theirs' })).not.toBeNull();

    const listed = await strategies.list('acme');
    expect(listed.map((strategy) => strategy.id)).toEqual(['zero-division', 'flaky']);
    expect(listed[1]).toMatchObject({ maxRetries: 3, backoff: { initialMs: 50, multiplier: 2, maxMs: 300_000 } });
    expect(await strategies.count('acme')).toBe(2);
    expect((await strategies.list('globex')).map((strategy) => strategy.name)).toEqual(['theirs']);

    expect(await strategies.delete('globex', 'zero-division')).toBe(false);
    expect(await strategies.delete('acme', 'zero-division')).toBe(true);
    expect((await strategies.list('acme')).map((strategy) => strategy.id)).toEqual(['flaky']);
  });
});
