import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ExecutionStatus } from '../domain/status';
import type { ExecutionSnapshot } from '../domain/types';

/**
 * The names other services use to talk to an execution workflow directly through Temporal. They
 * are part of the public contract: renaming one breaks callers and running executions.
 */
export const WORKFLOW_TYPE = 'executionWorkflow';

export interface CancelRequest {
  reason?: string;
}

/** Stop now: the running sandbox is killed and the execution ends `cancelled`. */
export const cancelSignal = defineSignal<[CancelRequest]>('cancel');

/** The current status only. */
export const statusQuery = defineQuery<ExecutionStatus>('status');

/** Everything about the execution, in the shape of GET /api/executions/:id. */
export const snapshotQuery = defineQuery<ExecutionSnapshot>('snapshot');

/**
 * Our status of the execution. Not named `ExecutionStatus`: Temporal reserves that name for its own
 * system attribute (Running, Completed, …), which the server refuses to let a workflow set.
 */
export const executionStatusKey = defineSearchAttributeKey('ExecutionState', SearchAttributeType.KEYWORD);
export const triggeredByKey = defineSearchAttributeKey('TriggeredBy', SearchAttributeType.KEYWORD);
export const taskKindKey = defineSearchAttributeKey('TaskKind', SearchAttributeType.KEYWORD);

/** The custom search attributes the Temporal server must know, with their types. */
export const SEARCH_ATTRIBUTES = { ExecutionState: 'Keyword', TriggeredBy: 'Keyword', TaskKind: 'Keyword' } as const;
