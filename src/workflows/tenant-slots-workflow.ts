import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { SlotTable, type SlotsState } from '../domain/slots';
import { RESOLVE_ACTIVITY } from './activity-options';
import { acquireSlotSignal, releaseSlotSignal, slotGrantedSignal, slotQueuedSignal, slotsQuery } from './slot-messages';

const checks = proxyActivities<Activities>(RESOLVE_ACTIVITY);

/** How often the holders are checked while executions wait: one terminated holder must not block the rest. */
const HOLDER_CHECK_MS = 10_000;
/** How long the workflow stays with nothing to do before it ends (the next ask starts it again). */
const IDLE_MS = 10 * 60_000;
const MAX_HISTORY_EVENTS = 5_000;

type Outgoing = { executionId: string; granted: true } | { executionId: string; granted: false; position: number };

/**
 * The running slots of one tenant, across every gateway and worker: executions ask with
 * signal-with-start, and are told when they may start; they give the slot back when they end. A
 * holder that ended without saying so (terminated) is found by a periodic check.
 */
export async function tenantSlotsWorkflow(state: SlotsState): Promise<void> {
  const table = new SlotTable(state);
  const outbox: Outgoing[] = [];
  const grant = (ids: string[]) => ids.forEach((executionId) => outbox.push({ executionId, granted: true }));

  setHandler(slotsQuery, () => table.snapshot());
  setHandler(acquireSlotSignal, ({ executionId, limit }) => {
    const decision = table.acquire(executionId, limit);
    grant(decision.granted);
    if (decision.position !== null) outbox.push({ executionId, granted: false, position: decision.position });
  });
  setHandler(releaseSlotSignal, ({ executionId }) => grant(table.release(executionId).granted));

  for (;;) {
    const timeout = table.hasWaiting ? HOLDER_CHECK_MS : IDLE_MS;
    const woken = await condition(() => outbox.length > 0, timeout);
    while (outbox.length > 0) {
      const message = outbox.shift() as Outgoing;
      const handle = getExternalWorkflowHandle(message.executionId);
      try {
        if (message.granted) {
          await handle.signal(slotGrantedSignal, { running: table.running, limit: table.currentLimit });
        } else {
          await handle.signal(slotQueuedSignal, {
            position: message.position,
            running: table.running,
            limit: table.currentLimit,
          });
        }
      } catch {
        // The execution is gone: its slot, or its place, is free.
        log.info('an execution could not be told about its slot', { executionId: message.executionId });
        grant(table.release(message.executionId).granted);
      }
    }
    if (!woken && table.hasWaiting) {
      const ended = await checks.endedExecutions({ ids: table.holding() });
      for (const executionId of ended) grant(table.release(executionId).granted);
    }
    if (!woken && table.isIdle && outbox.length === 0) {
      await condition(allHandlersFinished);
      if (table.isIdle && outbox.length === 0) return;
    }
    if (workflowInfo().historyLength > MAX_HISTORY_EVENTS || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      if (outbox.length === 0) await continueAsNew<typeof tenantSlotsWorkflow>(table.snapshot());
    }
  }
}
