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
  /** The model's answer could not be used (not JSON, not a valid plan, no code). */
  LLM_BAD_OUTPUT: 'LLM_BAD_OUTPUT',
  /** A task needs a model and none is configured. */
  MODEL_NOT_CONFIGURED: 'MODEL_NOT_CONFIGURED',
  /** Something the execution needs (an uploaded file) is missing from the artifact store. */
  ARTIFACT_MISSING: 'ARTIFACT_MISSING',
  CANCELLED: 'CANCELLED',
  TIMED_OUT: 'TIMED_OUT',
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** Failures of a code attempt that the workflow answers by generating the code again. */
export const ATTEMPT_ERRORS: readonly ErrorType[] = [
  ErrorType.CODE_ERROR,
  ErrorType.SANDBOX_TIMEOUT,
  ErrorType.RESOURCE_EXHAUSTED,
  ErrorType.OUTPUT_LIMIT,
  ErrorType.VALIDATION_ERROR,
];

/** Activity failure types that retrying cannot fix. */
export const NON_RETRYABLE_ERRORS: readonly ErrorType[] = [
  ErrorType.LLM_ERROR,
  ErrorType.MODEL_NOT_CONFIGURED,
  ErrorType.ARTIFACT_MISSING,
  ErrorType.VALIDATION_ERROR,
];
