/**
 * The limit on a tenant's running executions (TENANT_MAX_RUNNING), kept by the tenant's slots
 * workflow on the real dev server: it holds across gateways, since no process counts in memory.
 */
import type { ExecutionSnapshot } from '../../src/domain/types';
import { slotsQuery, slotsWorkflowId } from '../../src/workflows/slot-messages';
import { startGateway } from '../support/gateway';
import { useHarness } from '../support/harness';

describe('running executions per tenant', () => {
  const harness = useHarness({ model: false, env: { ADMIN_API_KEY: 'operator-key', TENANT_MAX_RUNNING: '1' } });
  harness.defaultHeaders = { authorization: 'Bearer operator-key' };

  const start = async (body: Record<string, unknown>, baseUrl = harness.baseUrl, key = 'operator-key') => {
    const response = await fetch(`${baseUrl}/api/executions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  };
  const timelineOf = (snapshot: ExecutionSnapshot) => snapshot.timeline.map((event) => event.event);

  test('beyond the limit an execution waits in queued, visibly, and starts when the slot frees', async () => {
    const first = await start({ code: "import time\nprint('first', flush=True)\ntime.sleep(2)" });
    await harness.waitFor(first, (snapshot) => snapshot.status === 'running');
    // A second gateway on the same deployment: the limit is the tenant's, not a process's.
    const other = await startGateway(harness.client, harness.config);
    let second: string;
    try {
      second = await start({ code: "print('second')" }, other.baseUrl);
    } finally {
      other.server.closeAllConnections();
      await new Promise((resolve) => other.server.close(resolve));
    }
    const waiting = await harness.waitFor(second, (snapshot) => timelineOf(snapshot).includes('WAITING_FOR_SLOT'));
    expect(waiting.status).toBe('queued');
    expect(waiting.messages.map((message) => message.message)).toContain(
      'waiting for a running slot: 1 of 1 in use for tenant default, place 1',
    );
    const state = await harness.client.workflow.getHandle(slotsWorkflowId('default')).query(slotsQuery);
    expect(state).toMatchObject({ holders: [first], waiting: [second], limit: 1 });

    const firstDone = await harness.waitForEnd(first);
    const secondDone = await harness.waitForEnd(second);
    expect([firstDone.status, secondDone.status]).toEqual(['succeeded', 'succeeded']);
    expect(Date.parse(secondDone.startedAt!)).toBeGreaterThanOrEqual(Date.parse(firstDone.completedAt!));
    expect(timelineOf(secondDone)).toEqual(expect.arrayContaining(['WAITING_FOR_SLOT', 'SLOT_GRANTED']));
    expect(secondDone.steps[0].attempts[0].stdout).toBe('second\n');
  });

  test('another tenant has slots of its own; a queued execution cancelled gives its place up', async () => {
    const key = await harness.request('POST', '/api/keys', { tenant: 'globex', name: 'ci', scopes: ['read', 'run'] });
    const globex = key.body.secret as string;
    const holder = await start({ code: "import time\nprint('holding', flush=True)\ntime.sleep(3)" });
    await harness.waitFor(holder, (snapshot) => snapshot.status === 'running');

    const theirs = await start({ code: "print('globex')" }, harness.baseUrl, globex);
    const queued = await start({ code: "print('never')" });
    await harness.waitFor(queued, (snapshot) => timelineOf(snapshot).includes('WAITING_FOR_SLOT'));
    const cancel = await harness.request('POST', `/api/executions/${queued}/cancel`, { reason: 'not needed' });
    expect(cancel.status).toBe(202);
    const cancelled = await harness.waitForEnd(queued);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.steps.flatMap((step) => step.attempts)).toEqual([]);

    // The other tenant's execution did not wait for this tenant's slot.
    const as = { authorization: `Bearer ${globex}` };
    let theirsDone = await harness.request('GET', `/api/executions/${theirs}`, undefined, as);
    const deadline = Date.now() + 30_000;
    while (theirsDone.body.completedAt === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      theirsDone = await harness.request('GET', `/api/executions/${theirs}`, undefined, as);
    }
    expect(theirsDone.body.status).toBe('succeeded');
    expect(theirsDone.body.timeline.map((event: { event: string }) => event.event)).not.toContain('WAITING_FOR_SLOT');

    const after = await start({ code: "print('after')" });
    expect((await harness.waitForEnd(holder)).status).toBe('succeeded');
    expect((await harness.waitForEnd(after)).status).toBe('succeeded');
    const state = await harness.client.workflow.getHandle(slotsWorkflowId('default')).query(slotsQuery);
    expect(state.holders).not.toContain(queued);
    expect(state.waiting).toEqual([]);
  });

  test('a holder terminated through Temporal, which never gives its slot back, is found and its slot freed', async () => {
    const holder = await start({ code: "import time\nprint('holding', flush=True)\ntime.sleep(120)" });
    await harness.waitFor(holder, (snapshot) => snapshot.status === 'running');
    const next = await start({ code: "print('next')" });
    await harness.waitFor(next, (snapshot) => timelineOf(snapshot).includes('WAITING_FOR_SLOT'));
    await harness.client.workflow.getHandle(holder).terminate('an operator stopped it');
    // The slots workflow checks its holders while executions wait (every 10 s).
    const done = await harness.waitForEnd(next, 40_000);
    expect(done.status).toBe('succeeded');
    expect(timelineOf(done)).toContain('SLOT_GRANTED');
  });
});
