/**
 * Webhooks out: subscriptions of a tenant and `options.notify` of one execution, delivered by
 * delivery workflows to a real HTTP receiver on loopback (allowed by WEBHOOK_ALLOW_PRIVATE here).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyDelivery } from '../../src/api/hook-signature';
import { startGateway } from '../support/gateway';
import { useHarness } from '../support/harness';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
  body: {
    deliveryId: string;
    eventId: string;
    event: string;
    executionId: string;
    tenant: string;
    data: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  answeredAt: number | null;
}

/** A receiver that answers by path: /flaky 500 twice per delivery, /held once released, others at once. */
class Receiver {
  readonly received: Received[] = [];
  private readonly failures = new Map<string, number>();
  private readonly held: Array<() => void> = [];
  private holding = true;
  private server!: http.Server;
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Answers the held requests, and from now on answers /held at once. */
  release(): void {
    this.holding = false;
    for (const answer of this.held.splice(0)) answer();
  }

  of(path: string, executionId: string): Received[] {
    return this.received.filter((entry) => entry.path === path && entry.body.executionId === executionId);
  }

  async waitFor(path: string, executionId: string, event: string, timeoutMs = 30_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.of(path, executionId).find((entry) => entry.body.event === event && entry.answeredAt !== null);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`${path} never got ${event} of ${executionId}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const entry: Received = { path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw), answeredAt: null };
    this.received.push(entry);
    const answer = (status: number) => {
      entry.answeredAt = status < 300 ? Date.now() : null;
      res.writeHead(status).end(status < 300 ? 'ok' : 'not now');
    };
    if (entry.path === '/flaky') {
      const failed = this.failures.get(entry.body.deliveryId) ?? 0;
      this.failures.set(entry.body.deliveryId, failed + 1);
      return answer(failed < 2 ? 500 : 200);
    }
    if (entry.path === '/held' && this.holding) return void this.held.push(() => answer(200));
    answer(200);
  }
}

describe('webhooks out', () => {
  const harness = useHarness({ model: false, env: { ADMIN_API_KEY: 'operator-key', WEBHOOK_ALLOW_PRIVATE: 'true' } });
  harness.defaultHeaders = { authorization: 'Bearer operator-key' };
  const receiver = new Receiver();
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());

  const subscribe = async (path: string, events: string[]) => {
    const response = await harness.request('POST', '/api/subscriptions', { url: `${receiver.url}${path}`, events });
    expect(response.status).toBe(201);
    return response.body as { id: string; secret: string; events: string[] };
  };
  const run = async (body: Record<string, unknown> = { code: "print('hello')" }) => {
    const response = await harness.request('POST', '/api/executions', body);
    expect(response.status).toBe(202);
    return response.body as { id: string; notify?: { subscriptionId: string; secret?: string } };
  };

  test('a receiver must be http(s), and public unless WEBHOOK_ALLOW_PRIVATE', async () => {
    const bad = await harness.request('POST', '/api/subscriptions', { url: 'ftp://example.com/in' });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toMatchObject({ code: 'INVALID_RECEIVER', message: 'url must be http or https.' });
    const event = await harness.request('POST', '/api/subscriptions', { url: 'https://example.com', events: ['x'] });
    expect(event.status).toBe(422);
    expect(event.body.error.details.issues[0].path).toBe('events.0');

    const strict = await startGateway(harness.client, { ...harness.config, webhooks: { allowPrivate: false } });
    try {
      const send = (route: string, body: unknown) =>
        fetch(`${strict.baseUrl}${route}`, {
          method: 'POST',
          headers: { authorization: 'Bearer operator-key', 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const refused = await send('/api/subscriptions', { url: `${receiver.url}/ok` });
      expect(refused.status).toBe(422);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
        'WEBHOOK_ALLOW_PRIVATE',
      );
      const notify = await send('/api/executions', {
        code: 'print(1)',
        options: { notify: { url: 'http://10.0.0.1/' } },
      });
      expect(notify.status).toBe(422);
    } finally {
      strict.server.closeAllConnections();
      await new Promise((resolve) => strict.server.close(resolve));
    }
  });

  test('a subscription gets each state change and the end, signed, with a delivery id', async () => {
    const subscription = await subscribe('/ok', ['status', 'completed']);
    expect(subscription.secret).toMatch(/^whsec_/);
    const { id } = await run();
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('succeeded');
    const completed = await receiver.waitFor('/ok', id, 'completed');
    await receiver.waitFor('/ok', id, 'status');
    // Every status event has arrived once the one for `succeeded` has.
    const deadline = Date.now() + 30_000;
    const statuses = () =>
      receiver
        .of('/ok', id)
        .filter((entry) => entry.body.event === 'status')
        .sort((a, b) => Number(a.body.eventId.split(':').pop()) - Number(b.body.eventId.split(':').pop()))
        .map((entry) => `${entry.body.data.previous}>${entry.body.data.status}`);
    while (!statuses().includes('running>succeeded') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(statuses()).toEqual(['queued>starting', 'starting>running', 'running>succeeded']);

    expect(completed.body).toMatchObject({ event: 'completed', executionId: id, tenant: 'default' });
    expect(completed.body.data).toMatchObject({ status: 'succeeded', error: null, files: [] });
    expect(completed.headers['x-event']).toBe('completed');
    expect(completed.headers['x-delivery-id']).toBe(completed.body.deliveryId);
    const checked = verifyDelivery(
      completed.headers['x-signature'] as string,
      Buffer.from(completed.raw),
      [subscription.secret],
      Math.floor(Date.now() / 1000),
    );
    expect(checked.ok).toBe(true);
    expect(
      verifyDelivery(
        completed.headers['x-signature'] as string,
        Buffer.from(completed.raw),
        ['whsec_other'],
        Math.floor(Date.now() / 1000),
      ).ok,
    ).toBe(false);
    const ids = receiver.of('/ok', id).map((entry) => entry.body.deliveryId);
    expect(new Set(ids).size).toBe(ids.length);

    const log = await harness.request('GET', `/api/subscriptions/${subscription.id}/deliveries`);
    expect(log.status).toBe(200);
    const mine = (
      log.body.deliveries as Array<{ executionId: string; outcome: string; attempt: number; responseStatus: number }>
    ).filter((entry) => entry.executionId === id);
    expect(mine).toHaveLength(4);
    expect(
      mine.every((entry) => entry.outcome === 'delivered' && entry.attempt === 1 && entry.responseStatus === 200),
    ).toBe(true);
    expect((await harness.request('DELETE', `/api/subscriptions/${subscription.id}`)).status).toBe(204);
  });

  test('a failing receiver is retried with the same delivery id, and the log shows each attempt', async () => {
    const subscription = await subscribe('/flaky', ['completed']);
    const { id } = await run();
    const done = await harness.waitForEnd(id);
    const delivered = await receiver.waitFor('/flaky', id, 'completed');
    expect(receiver.of('/flaky', id).map((entry) => entry.body.deliveryId)).toEqual([
      delivered.body.deliveryId,
      delivered.body.deliveryId,
      delivered.body.deliveryId,
    ]);
    // The execution ended before the receiver first accepted anything.
    expect(Date.parse(done.completedAt!)).toBeLessThan(delivered.answeredAt!);
    const log = await harness.request('GET', `/api/subscriptions/${subscription.id}/deliveries`);
    const attempts = (
      log.body.deliveries as Array<{
        executionId: string;
        attempt: number;
        outcome: string;
        responseStatus: number;
        responseBody: string;
      }>
    )
      .filter((entry) => entry.executionId === id)
      .map(({ attempt, outcome, responseStatus, responseBody }) => ({ attempt, outcome, responseStatus, responseBody }))
      .sort((a, b) => a.attempt - b.attempt);
    expect(attempts).toEqual([
      { attempt: 1, outcome: 'failed', responseStatus: 500, responseBody: 'not now' },
      { attempt: 2, outcome: 'failed', responseStatus: 500, responseBody: 'not now' },
      { attempt: 3, outcome: 'delivered', responseStatus: 200, responseBody: 'ok' },
    ]);
    expect((await harness.request('DELETE', `/api/subscriptions/${subscription.id}`)).status).toBe(204);
  });

  test("options.notify: one execution's own receiver, which holding its answers does not slow", async () => {
    const started = await run({ code: "print('held')", options: { notify: { url: `${receiver.url}/held` } } });
    expect(started.notify).toEqual({
      subscriptionId: expect.stringMatching(/^sub_/),
      secret: expect.stringMatching(/^whsec_/),
    });
    const done = await harness.waitForEnd(started.id);
    expect(done.status).toBe('succeeded');
    // The receiver has been sent events and has answered none of them, yet the execution is over.
    expect(receiver.of('/held', started.id).length).toBeGreaterThan(0);
    expect(receiver.of('/held', started.id).every((entry) => entry.answeredAt === null)).toBe(true);
    receiver.release();
    await receiver.waitFor('/held', started.id, 'completed');
    // Another execution is not this receiver's business.
    const other = await run();
    await harness.waitForEnd(other.id);
    expect(
      receiver.received.filter((entry) => entry.path === '/held' && entry.body.executionId !== started.id),
    ).toEqual([]);
  });

  test('an unsubscribed receiver gets nothing more; another tenant sees none of the subscriptions', async () => {
    const gone = await subscribe('/gone', ['completed']);
    const kept = await subscribe('/kept', ['completed']);
    expect((await harness.request('DELETE', `/api/subscriptions/${gone.id}`)).status).toBe(204);
    expect((await harness.request('DELETE', `/api/subscriptions/${gone.id}`)).status).toBe(404);
    const { id } = await run();
    await harness.waitForEnd(id);
    await receiver.waitFor('/kept', id, 'completed');
    expect(receiver.of('/gone', id)).toEqual([]);
    const listed = await harness.request('GET', '/api/subscriptions');
    expect(listed.body.subscriptions.map((entry: { id: string }) => entry.id)).toEqual([kept.id]);
    expect(listed.body.subscriptions[0].secret).toBeUndefined();

    const key = await harness.request('POST', '/api/keys', {
      tenant: 'globex',
      name: 'ci',
      scopes: ['read', 'run', 'admin'],
    });
    const globex = { authorization: `Bearer ${key.body.secret as string}` };
    expect((await harness.request('GET', '/api/subscriptions', undefined, globex)).body.subscriptions).toEqual([]);
    expect((await harness.request('GET', `/api/subscriptions/${kept.id}/deliveries`, undefined, globex)).status).toBe(
      404,
    );
    expect((await harness.request('DELETE', `/api/subscriptions/${kept.id}`, undefined, globex)).status).toBe(404);
    const runKey = await harness.request('POST', '/api/keys', { tenant: 'globex', name: 'runner', scopes: ['run'] });
    const runner = { authorization: `Bearer ${runKey.body.secret as string}` };
    expect((await harness.request('GET', '/api/subscriptions', undefined, runner)).status).toBe(403);
  });
});
