import type { ExecutionSnapshot } from '../../src/domain/types';
import { useHarness } from '../support/harness';
import { processesMentioning } from '../support/processes';

const events = (snapshot: ExecutionSnapshot) => snapshot.timeline.map((event) => event.event);

/** Executions that wait (paused, or for a person) still end when they are cancelled or their deadline comes. */
describe('while an execution waits', () => {
  // A sandbox second costs $1, so that the first estimate of a run passes a small budget.
  const harness = useHarness({ model: false, env: { SANDBOX_PRICE_PER_SECOND: '1' } });

  const start = async (body: Record<string, unknown>) => {
    const response = await harness.request('POST', '/api/executions', body);
    expect(response.status).toBe(202);
    return response.body.id as string;
  };

  test('cancelling while awaiting_input ends it cancelled, with the question withdrawn', async () => {
    const id = await start({ code: '1/0', options: { maxAttempts: 1, onExhausted: 'ask' } });
    const waiting = await harness.waitFor(id, (snapshot) => snapshot.status === 'awaiting_input');
    expect(waiting.awaiting?.kind).toBe('recovery');
    const cancel = await harness.request('POST', `/api/executions/${id}/cancel`, { reason: 'no time for this' });
    expect(cancel.status).toBe(202);
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('cancelled');
    expect(done.error).toMatchObject({ code: 'CANCELLED', message: 'no time for this' });
    expect(done.awaiting).toBeNull();
    expect(done.steps[0].attempts).toHaveLength(1);
    const late = await harness.request('POST', `/api/executions/${id}/input`, { input: { code: 'print(1)' } });
    expect(late.status).toBe(409);
  });

  test('the deadline ends a paused execution timed_out', async () => {
    const id = await start({
      code: "import time\nprint('working', flush=True)\ntime.sleep(1)",
      // Long enough to be paused first on a busy machine.
      options: { timeoutMs: 15_000 },
    });
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');
    expect((await harness.request('POST', `/api/executions/${id}/pause`, {})).status).toBe(202);
    const done = await harness.waitForEnd(id, 60_000);
    expect(done.status).toBe('timed_out');
    expect(done.error?.code).toBe('TIMED_OUT');
    // It was paused when the deadline came, and nothing resumed it.
    expect(events(done)).toContain('EXECUTION_PAUSED');
    expect(events(done)).not.toContain('EXECUTION_RESUMED');
    expect(done.timeline.at(-1)?.type).toBe('timeout');
    expect(processesMentioning(id)).toEqual([]);
  });

  test('the deadline ends an execution waiting for a person, before the question itself expires', async () => {
    const id = await start({
      code: '1/0',
      options: { maxAttempts: 1, onExhausted: 'ask', timeoutMs: 5000, inputTimeoutMs: 600_000 },
    });
    await harness.waitFor(id, (snapshot) => snapshot.status === 'awaiting_input');
    const done = await harness.waitForEnd(id, 60_000);
    expect(done.status).toBe('timed_out');
    expect(done.error?.code).toBe('TIMED_OUT');
    expect(done.error?.message).not.toContain('no answer within');
    expect(done.awaiting).toBeNull();
  });

  test('a budget that a sandbox run would pass stops the execution before the run', async () => {
    const id = await start({ code: "print('should not run')", options: { budgetUsd: 0.01 } });
    const waiting = await harness.waitFor(id, (snapshot) => snapshot.status === 'awaiting_input');
    expect(waiting.awaiting?.kind).toBe('budget');
    expect(waiting.awaiting?.prompt).toContain('a sandbox run estimated at');
    expect(events(waiting)).not.toContain('RESOURCE_ALLOCATED');
    expect((await harness.request('POST', `/api/executions/${id}/input`, { approve: false })).status).toBe(202);
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('cancelled');
    expect(done.error?.message).toBe('stopped at the budget');
    expect(done.steps[0]?.attempts ?? []).toEqual([]);
    expect(events(done)).not.toContain('RESOURCE_ALLOCATED');
  });
});
