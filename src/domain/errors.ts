/**
 * Failure types shared by activities and the workflow. Activities throw
 * `ApplicationFailure.nonRetryable(message, ErrorType.X)` for permanent failures; the workflow
 * branches on the failure's `type` string.
 */
export const ErrorType = {
  /** The generated or given code raised an exception or exited non-zero. */
  CODE_ERROR: 'CODE_ERROR',
  /** A sandbox run went past its wall-time limit. */
  SANDBOX_TIMEOUT: 'SANDBOX_TIMEOUT',
  /** A sandbox run hit a memory, CPU, process or disk limit. */
  RESOURCE_EXHAUSTED: 'RESOURCE_EXHAUSTED',
  /** A sandbox run printed or produced more than allowed. */
  OUTPUT_LIMIT: 'OUTPUT_LIMIT',
  /** The sandbox could not be started (transient: retried by Temporal). */
  SANDBOX_UNAVAILABLE: 'SANDBOX_UNAVAILABLE',
  /** The code was refused before it ran (syntax, forbidden import, path outside the workspace). */
  VALIDATION_ERROR: 'VALIDATION_ERROR',
  /** The model endpoint refused the request for good (bad key, unknown model, bad request). */
  LLM_ERROR: 'LLM_ERROR',
  /** The model endpoint kept answering 429 (too many requests) until the retry policy gave up. */
  LLM_RATE_LIMITED: 'LLM_RATE_LIMITED',
  /** The model endpoint kept failing (5xx, unreachable, no answer in time) until the retry policy gave up. */
  LLM_UNAVAILABLE: 'LLM_UNAVAILABLE',
  /** The prompt did not fit the model's context, even shortened, and no other model could take it. */
  LLM_CONTEXT_TOO_LONG: 'LLM_CONTEXT_TOO_LONG',
  /** The model's answer could not be used (not JSON, not a valid plan, no code). */
  LLM_BAD_OUTPUT: 'LLM_BAD_OUTPUT',
  /** A task needs a model and none is configured. */
  MODEL_NOT_CONFIGURED: 'MODEL_NOT_CONFIGURED',
  /** Something the execution needs (an uploaded file) is missing from the artifact store. */
  ARTIFACT_MISSING: 'ARTIFACT_MISSING',
  /** The execution's history came near Temporal's limits: a retry from the step goes on in a new one. */
  HISTORY_LIMIT: 'HISTORY_LIMIT',
  /** The named task a schedule runs is gone, or no longer takes the schedule's inputs. */
  TASK_UNAVAILABLE: 'TASK_UNAVAILABLE',
  CANCELLED: 'CANCELLED',
  TIMED_OUT: 'TIMED_OUT',
  INTERNAL: 'INTERNAL',
} as const;

/**
 * Why the workflow refused a control message (an update's validator, or a signal it records as
 * refused). The gateway maps them: INVALID_STATE_TRANSITION and HISTORY_LIMIT → 409, INVALID_INPUT → 422,
 * UNKNOWN_ALERT → 404.
 */
export const RefusalType = {
  INVALID_STATE_TRANSITION: 'INVALID_STATE_TRANSITION',
  INVALID_INPUT: 'INVALID_INPUT',
  /** The history is near Temporal's limits: no more pauses or resumes (→ 409 HISTORY_LIMIT). */
  HISTORY_LIMIT: 'HISTORY_LIMIT',
  /** The execution watches no alert of that id (→ 404). */
  UNKNOWN_ALERT: 'UNKNOWN_ALERT',
} as const;

export type RefusalType = (typeof RefusalType)[keyof typeof RefusalType];

export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Model-call failure types that Temporal's retry policy must not retry. */
export const LLM_NON_RETRYABLE: readonly ErrorType[] = [
  ErrorType.LLM_ERROR,
  ErrorType.LLM_CONTEXT_TOO_LONG,
  ErrorType.MODEL_NOT_CONFIGURED,
];

/** Sandbox-run failure types that Temporal's retry policy must not retry. */
export const SANDBOX_NON_RETRYABLE: readonly ErrorType[] = [ErrorType.ARTIFACT_MISSING, ErrorType.VALIDATION_ERROR];

/** Failures of configuration: running again from a step cannot succeed until an operator fixes them. */
const CONFIGURATION_ERRORS: readonly string[] = [
  ErrorType.LLM_ERROR,
  ErrorType.MODEL_NOT_CONFIGURED,
  ErrorType.ARTIFACT_MISSING,
  ErrorType.TASK_UNAVAILABLE,
  ErrorType.INTERNAL,
];

/**
 * Whether a retry from a step (`POST /api/executions/:id/retry`) can succeed after an execution
 * ended with `code`: true for failures of code or data, which new code can fix, and for stops; false
 * for failures of configuration, and whenever there is no plan to retry from.
 */
export function retryCanSucceed(code: string, hasPlan: boolean): boolean {
  return hasPlan && !CONFIGURATION_ERRORS.includes(code);
}
