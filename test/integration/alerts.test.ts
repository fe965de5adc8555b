/**
 * Alerts against the real stack: conditions from the request, a POST, and a named task's options,
 * evaluated in the workflow (a slow step), with their timeline events, warning messages, SSE `alert`
 * events and `alert` webhook deliveries to a real receiver on loopback.
 */
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Alert } from '../../src/domain/alerts';
import type { ExecutionSnapshot, TimelineEvent } from '../../src/domain/types';
import { useHarness } from '../support/harness';
import { readEvents, type SseEvent } from '../support/sse';

const SLOW = (seconds: number) => `import time\ntime.sleep(${seconds})\nprint('done')`;

const alertEvents = (snapshot: ExecutionSnapshot): TimelineEvent[] =>
  snapshot.timeline.filter((event) => event.event.startsWith('ALERT_'));

interface Delivery {
  event: string;
  executionId: string;
  data: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('alerts', () => {
  const harness = useHarness({ model: false, env: { ADMIN_API_KEY: 'operator-key', WEBHOOK_ALLOW_PRIVATE: 'true' } });
  harness.defaultHeaders = { authorization: 'Bearer operator-key' };
  const received: Delivery[] = [];
  let receiver: http.Server;
  let receiverUrl = '';
  beforeAll(async () => {
    receiver = http.createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString()) as Delivery);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`;
  });
  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  });

  const deliveriesOf = async (id: string, count: number): Promise<Delivery[]> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const mine = received.filter((delivery) => delivery.executionId === id && delivery.event === 'alert');
      if (mine.length >= count || Date.now() > deadline) return mine;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  test('a slow step fires `step_duration gt 1000` once, and it resolves when the step ends; SSE and webhook say so', async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: SLOW(3),
      options: {
        maxAttempts: 1,
        alerts: [{ metric: 'step_duration', operator: 'gt', threshold: 1000 }],
        notify: { url: receiverUrl, events: ['alert'] },
      },
    });
    expect(started.status).toBe(202);
    const id = started.body.id as string;
    const streamed: SseEvent[] = await readEvents(`${harness.baseUrl}/api/executions/${id}/events`, {
      timeoutMs: 60_000,
      headers: harness.defaultHeaders,
    });
    const snapshot = await harness.waitForEnd(id);
    expect(snapshot.status).toBe('succeeded');

    const events = alertEvents(snapshot);
    expect(events.map((event) => event.event)).toEqual(['ALERT_TRIGGERED', 'ALERT_RESOLVED']);
    const [triggered, resolved] = events;
    expect(triggered.data).toMatchObject({
      alertId: 'alert-1',
      metric: 'step_duration',
      operator: 'gt',
      threshold: 1000,
      source: 'execution',
    });
    expect(triggered.data?.value as number).toBeGreaterThan(1000);
    // Fired by the workflow's timer soon after the threshold, not at the step's end, three seconds in.
    expect(triggered.data?.value as number).toBeLessThan(2500);
    expect(resolved.data).toMatchObject({ alertId: 'alert-1', value: 0 });
    expect(resolved.data?.durationMs as number).toBeGreaterThanOrEqual(1000);
    const stepDone = snapshot.timeline.find((event) => event.event === 'TASK_COMPLETED');
    expect(triggered.seq).toBeLessThan(stepDone!.seq);

    const warning = snapshot.messages.find((message) => message.alert !== undefined);
    expect(warning).toMatchObject({ level: 'warning', stepId: 'main' });
    expect(warning?.alert).toMatchObject({ id: 'alert-1', executionId: id, state: 'firing', severity: 'warning' });

    const sse = streamed.filter((event) => event.event === 'alert').map((event) => event.data);
    expect(sse.map((data) => data.kind)).toEqual(['triggered', 'resolved']);
    expect(sse[0]).toMatchObject({ id, alertId: 'alert-1', metric: 'step_duration' });

    const deliveries = await deliveriesOf(id, 2);
    expect(deliveries.map((delivery) => delivery.data.kind).sort()).toEqual(['resolved', 'triggered']);
    expect(deliveries.find((delivery) => delivery.data.kind === 'triggered')?.data.alert).toMatchObject({
      id: 'alert-1',
      condition: { metric: 'step_duration', threshold: 1000 },
    });

    const listed = await harness.request('GET', `/api/executions/${id}/alerts`);
    expect(listed.status).toBe(200);
    expect(listed.body.alerts).toEqual([
      expect.objectContaining({ id: 'alert-1', state: 'ok', episodes: 1, resolvedAt: expect.any(String) }),
    ]);
  });

  test('a CPU-burning run fires `cpu_usage gt 50` from its samples and resolves when the run ends; a sleeping one does not', async () => {
    const alerts = [
      { metric: 'cpu_usage', operator: 'gt', threshold: 50 },
      { metric: 'memory_bytes', operator: 'gt', threshold: 1024 * 1024 },
    ];
    const burning = await harness.request('POST', '/api/executions', {
      code: "import time\nt = time.time()\nwhile time.time() < t + 2:\n    pass\nprint('burnt')",
      options: { maxAttempts: 1, alerts },
    });
    const sleeping = await harness.request('POST', '/api/executions', {
      code: SLOW(2),
      options: { maxAttempts: 1, alerts: alerts.slice(0, 1) },
    });
    expect(burning.status).toBe(202);
    expect(sleeping.status).toBe(202);

    const burnt = await harness.waitForEnd(burning.body.id as string);
    expect(burnt.status).toBe('succeeded');
    const cpu = alertEvents(burnt).filter((event) => event.data?.metric === 'cpu_usage');
    expect(cpu.map((event) => event.event)).toEqual(['ALERT_TRIGGERED', 'ALERT_RESOLVED']);
    expect(cpu[0].data).toMatchObject({ alertId: 'alert-1', operator: 'gt', threshold: 50 });
    expect(cpu[0].data?.value as number).toBeGreaterThan(50);
    const released = burnt.timeline.find((event) => event.event === 'RESOURCE_RELEASED');
    // Sampled while the code ran: the trigger comes before the run's release, the resolution with it.
    expect(cpu[0].seq).toBeLessThan(released!.seq);
    const memory = alertEvents(burnt).filter((event) => event.data?.metric === 'memory_bytes');
    expect(memory[0]?.event).toBe('ALERT_TRIGGERED');
    expect(memory[0].data?.value as number).toBeGreaterThan(1024 * 1024);

    const slept = await harness.waitForEnd(sleeping.body.id as string);
    expect(slept.status).toBe('succeeded');
    expect(alertEvents(slept)).toEqual([]);
    const listed = await harness.request('GET', `/api/executions/${burning.body.id as string}/alerts`);
    expect(listed.body.alerts[0]).toMatchObject({ id: 'alert-1', state: 'ok', episodes: 1 });
  });

  test('POST, GET and DELETE /alerts: a condition with a duration set on a running execution; 422, 404 and 409', async () => {
    const started = await harness.request('POST', '/api/executions', { code: SLOW(4), options: { maxAttempts: 1 } });
    const id = started.body.id as string;
    await harness.waitFor(id, (snapshot) => snapshot.status === 'running');

    const badMetric = await harness.request('POST', `/api/executions/${id}/alerts`, {
      metric: 'disk',
      operator: 'gt',
      threshold: 1,
    });
    expect(badMetric.status).toBe(422);
    expect(JSON.stringify(badMetric.body.error)).toContain('metric');
    const badOperator = await harness.request('POST', `/api/executions/${id}/alerts`, {
      metric: 'tokens',
      operator: 'ne',
      threshold: 1,
    });
    expect(badOperator.status).toBe(422);
    expect(JSON.stringify(badOperator.body.error)).toContain('operator');

    const other = await harness.keyFor('other-tenant', ['read', 'run']);
    const body = { metric: 'execution_duration', operator: 'gt', threshold: 500, duration: 700 };
    expect((await harness.request('POST', `/api/executions/${id}/alerts`, body, other)).status).toBe(404);
    expect((await harness.request('GET', `/api/executions/${id}/alerts`, undefined, other)).status).toBe(404);

    const set = await harness.request('POST', `/api/executions/${id}/alerts`, body);
    expect(set.status).toBe(201);
    const alert = set.body as Alert;
    expect(alert).toMatchObject({
      executionId: id,
      condition: { metric: 'execution_duration', operator: 'gt', threshold: 500, durationMs: 700 },
      state: 'ok',
    });
    const spare = await harness.request('POST', `/api/executions/${id}/alerts`, {
      metric: 'attempts',
      operator: 'gte',
      threshold: 5,
    });
    expect(spare.status).toBe(201);
    expect(
      (await harness.request('DELETE', `/api/executions/${id}/alerts/${spare.body.id}`, undefined, other)).status,
    ).toBe(404);
    expect((await harness.request('DELETE', `/api/executions/${id}/alerts/alert-99`)).status).toBe(404);
    const removed = await harness.request('DELETE', `/api/executions/${id}/alerts/${spare.body.id}`);
    expect(removed.status).toBe(200);
    expect((await harness.request('GET', `/api/executions/${id}/alerts`)).body.alerts.map((a: Alert) => a.id)).toEqual([
      alert.id,
    ]);

    const snapshot = await harness.waitForEnd(id);
    expect(snapshot.status).toBe('succeeded');
    const events = alertEvents(snapshot);
    // The duration has passed by then and the clock keeps running: one trigger, no resolution.
    expect(events.map((event) => event.event)).toEqual(['ALERT_TRIGGERED']);
    expect(events[0].data).toMatchObject({ alertId: alert.id, metric: 'execution_duration' });
    expect(events[0].data?.durationMs as number).toBeGreaterThanOrEqual(700);

    const late = await harness.request('POST', `/api/executions/${id}/alerts`, body);
    expect(late.status).toBe(409);
  });

  test("a named task's alerts are its runs' defaults, watched beside a run's own", async () => {
    const created = await harness.request('POST', '/api/tasks', {
      slug: 'slow-alerted',
      title: 'A slow step',
      description: 'Sleep a while.',
      code: SLOW(2),
      options: { maxAttempts: 1, alerts: [{ metric: 'step_duration', operator: 'gte', threshold: 800 }] },
    });
    expect(created.status).toBe(201);
    const run = await harness.request('POST', '/api/tasks/slow-alerted/runs', {
      options: { alerts: [{ metric: 'attempts', operator: 'gte', threshold: 1 }] },
    });
    expect(run.status).toBe(202);
    const snapshot = await harness.waitForEnd(run.body.id as string);
    expect(snapshot.status).toBe('succeeded');
    expect(snapshot.options?.alerts).toEqual([
      expect.objectContaining({ id: 'alert-1', metric: 'attempts', source: 'execution' }),
      expect.objectContaining({ id: 'alert-2', metric: 'step_duration', source: 'task' }),
    ]);
    const fired = alertEvents(snapshot).filter((event) => event.event === 'ALERT_TRIGGERED');
    expect(fired.map((event) => event.data?.alertId).sort()).toEqual(['alert-1', 'alert-2']);
  });

  test("a tenant's defaults (PUT /api/alert-defaults, scope admin) are watched by every execution it submits after", async () => {
    const other = await harness.keyFor('other-tenant', ['read', 'run']);
    const defaults = { alerts: [{ metric: 'error_rate', operator: 'gte', threshold: 0.5 }] };
    expect((await harness.request('PUT', '/api/alert-defaults', defaults, other)).status).toBe(403);
    const bad = await harness.request('PUT', '/api/alert-defaults', { alerts: [{ metric: 'disk', operator: 'gt' }] });
    expect(bad.status).toBe(422);
    const put = await harness.request('PUT', '/api/alert-defaults', defaults);
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ alerts: defaults.alerts, updatedAt: expect.any(String) });
    expect((await harness.request('GET', '/api/alert-defaults', undefined, other)).body.alerts).toEqual([]);
    try {
      const started = await harness.request('POST', '/api/executions', {
        code: "raise ValueError('no')",
        options: { maxAttempts: 1, alerts: [{ metric: 'tokens', operator: 'gt', threshold: 100 }] },
      });
      const snapshot = await harness.waitForEnd(started.body.id as string);
      expect(snapshot.status).toBe('failed');
      expect(snapshot.options?.alerts).toEqual([
        expect.objectContaining({ id: 'alert-1', metric: 'tokens', source: 'execution' }),
        expect.objectContaining({ id: 'alert-2', metric: 'error_rate', source: 'tenant' }),
      ]);
      const fired = alertEvents(snapshot).filter((event) => event.event === 'ALERT_TRIGGERED');
      expect(fired.map((event) => event.data)).toEqual([
        expect.objectContaining({ alertId: 'alert-2', metric: 'error_rate', value: 1 }),
      ]);
      // Another tenant's executions do not take them.
      const theirs = await harness.request('POST', '/api/executions', { code: 'print(1)' }, other);
      const their = await harness.waitForEnd(theirs.body.id as string);
      expect((await harness.request('GET', `/api/executions/${their.id}`, undefined, other)).body.options.alerts).toBe(
        undefined,
      );
    } finally {
      const cleared = await harness.request('PUT', '/api/alert-defaults', { alerts: [] });
      expect(cleared.body).toMatchObject({ alerts: [], updatedAt: null });
    }
  });
});
