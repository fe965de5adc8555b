import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { SlotsState } from '../domain/slots';

/** The workflow that keeps one tenant's running slots; its id is `slotsWorkflowId(tenant)`. */
export const SLOTS_WORKFLOW_TYPE = 'tenantSlotsWorkflow';
export const slotsWorkflowId = (tenant: string) => `tenant-slots-${tenant}`;

/** An execution asks for a slot (sent with signal-with-start, so the slots workflow need not exist). */
export const acquireSlotSignal = defineSignal<[{ executionId: string; limit: number }]>('acquireSlot');
/** An execution ended, or stopped waiting. */
export const releaseSlotSignal = defineSignal<[{ executionId: string }]>('releaseSlot');
/** To the execution: it holds a slot and may start. */
export const slotGrantedSignal = defineSignal<[{ running: number; limit: number }]>('slotGranted');
/** To the execution: every slot is taken; it waits at `position`. */
export const slotQueuedSignal = defineSignal<[{ position: number; running: number; limit: number }]>('slotQueued');
/** Who holds and who waits for a slot. */
export const slotsQuery = defineQuery<SlotsState>('slots');
