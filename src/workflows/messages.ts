import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Alert, AlertRequest, SampledTransition } from '../domain/alerts';
import type { Answer } from '../domain/questions';
import type { ExecutionStatus } from '../domain/status';
import type { CheckpointList } from '../domain/checkpoints';
import type { ExecutionSnapshot, StepCheckpoint } from '../domain/types';

/**
 * The names other services use to talk to an execution workflow directly through Temporal. They
 * are part of the public contract: renaming one breaks callers and running executions.
 */
export const WORKFLOW_TYPE = 'executionWorkflow';

export interface CancelRequest {
  reason?: string;
  /** The id of the API key that asked, recorded on the timeline. */
  by?: string;
}

/** Stop now: the running sandbox is killed and the execution ends `cancelled`. */
export const cancelSignal = defineSignal<[CancelRequest]>('cancel');

export interface PauseRequest {
  reason?: string;
  /** The id of the API key that asked, recorded on the timeline. */
  by?: string;
}

/** Accepted when running: the running activity finishes, then the execution waits (`paused`). */
export const pauseUpdate = defineUpdate<ExecutionStatus, [PauseRequest]>('pause');

/** Accepted when paused: work goes on (`running`). */
export const resumeUpdate = defineUpdate<ExecutionStatus, [PauseRequest]>('resume');

/**
 * The same requests as signals, for services that send and forget (`temporal workflow signal --name
 * pause`). A signal the current state does not allow is recorded on the timeline as refused
 * (`SIGNAL_REFUSED`); the updates of the same names answer the refusal instead.
 */
export const pauseSignal = defineSignal<[PauseRequest]>('pause');
export const resumeSignal = defineSignal<[PauseRequest]>('resume');

/**
 * The answer to a question the execution is waiting on (`awaiting_input`):
 * - approval of the plan: `{ approve: true }` or `{ approve: false, input?: "why" }`;
 * - recovery after the last failed attempt: `{ input: { hint: "…" } }` to generate the code again with
 *   the hint, `{ input: { code: "…" } }` to run that code, or `{ approve: false }` to give up.
 */
export type InputAnswer = Answer & { by?: string };

export const inputUpdate = defineUpdate<ExecutionStatus, [InputAnswer]>('input');

/** The answer as a signal: refused answers are recorded on the timeline, not lost silently. */
export const inputSignal = defineSignal<[InputAnswer]>('input');

/** The finished steps, with their code, output and files: what a retry can reuse. */
export const checkpointsQuery = defineQuery<StepCheckpoint[]>('checkpoints');

/** The run's checkpoints (`{id, executionId, timestamp, state, metadata}`) and the finished steps they name. */
export const checkpointListQuery = defineQuery<CheckpointList>('checkpointList');

export interface CheckpointRequest {
  /** The id of the API key that asked, recorded on the checkpoint and the timeline. */
  by?: string;
}

/**
 * Records the finished steps as a checkpoint now (`metadata.reason: "on_demand"`); accepted while
 * the execution is active, refused (INVALID_STATE_TRANSITION) once it has ended or when the run
 * has made its most on-demand checkpoints. Answers the new checkpoint's id and time only, so that
 * what the update leaves in history stays small; read the checkpoint with `checkpointList`.
 */
export const checkpointUpdate = defineUpdate<{ id: string; timestamp: string }, [CheckpointRequest]>('checkpoint');

export type SetAlertRequest = AlertRequest & {
  /** The id of the API key that asked, recorded in the messages. */
  by?: string;
};

/**
 * Watches one more condition (the seed's `setAlert`); answers the alert with its new id. Refused
 * (INVALID_INPUT) for an unknown metric or operator or past the most alerts, and
 * (INVALID_STATE_TRANSITION) once the execution has ended or when it started before alerts existed.
 */
export const setAlertUpdate = defineUpdate<Alert, [SetAlertRequest]>('setAlert');

export interface RemoveAlertRequest {
  alertId: string;
  by?: string;
}

/** Stops watching a condition (the seed's `removeAlert`); refused (UNKNOWN_ALERT) for an id it does not watch. */
export const removeAlertUpdate = defineUpdate<Alert, [RemoveAlertRequest]>('removeAlert');

/** The execution's alerts, each with where its condition stands. */
export const alertsQuery = defineQuery<Alert[]>('alerts');

/**
 * What a sandbox run found for the execution's sampled conditions (`cpu_usage`, `memory_bytes`):
 * the sandbox activity evaluates its samples where it measures them and sends only transitions.
 */
export const alertSampleSignal =
  defineSignal<[{ stepId: string; attempt: number; transitions: SampledTransition[] }]>('alertSample');

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
/** The tenant an execution belongs to; absent on executions started before tenants (the default). */
export const tenantKey = defineSearchAttributeKey('Tenant', SearchAttributeType.KEYWORD);
/** The slug of the named task an execution is a run of. */
export const taskSlugKey = defineSearchAttributeKey('TaskSlug', SearchAttributeType.KEYWORD);

/**
 * What a running sandbox step reports in its activity heartbeats: the tail of its output, so the
 * gateway can show it live, and the id of a remote sandbox, so a retried activity can kill it.
 */
export interface LiveOutput {
  stepId: string;
  attempt: number;
  stdoutChars: number;
  tail: string;
  sandboxId?: string;
}

/**
 * What a model call that streams its answer reports in its activity heartbeats: the end of the
 * text so far, for the live view of the step (null while planning) and phase.
 */
export interface LiveText {
  kind: 'text';
  stepId: string | null;
  phase: 'planning' | 'generating' | 'analyzing';
  /** The activity's attempt: a retried call starts its text again. */
  attempt: number;
  chars: number;
  tail: string;
}

/** The custom search attributes the Temporal server must know, with their types. */
export const SEARCH_ATTRIBUTES = {
  ExecutionState: 'Keyword',
  TriggeredBy: 'Keyword',
  TaskKind: 'Keyword',
  Tenant: 'Keyword',
  TaskSlug: 'Keyword',
} as const;
