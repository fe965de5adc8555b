import { ErrorType } from './errors';

/** The failures of an attempt that a recovery strategy can answer. */
export const RECOVERABLE_ERRORS = [
  ErrorType.CODE_ERROR,
  ErrorType.SANDBOX_TIMEOUT,
  ErrorType.RESOURCE_EXHAUSTED,
  ErrorType.OUTPUT_LIMIT,
  ErrorType.VALIDATION_ERROR,
] as const;

export type RecoverableError = (typeof RECOVERABLE_ERRORS)[number];

/**
 * What to do after a failed attempt:
 * - `regenerate`: ask the model for new code, with the failed code and its error as context;
 * - `retry`: run the same code again after a backoff (for failures that may pass on their own);
 * - `restore`: start the step afresh from its inputs (the last checkpoint), forgetting the failed attempts;
 * - `fallback`: run the given code, or regenerate with another model;
 * - `skip`: give the step up; its dependents are skipped too, or run without its outputs;
 * - `ask`: wait for a person's hint or code;
 * - `abort`: fail the execution now.
 */
export type RecoveryStrategy =
  | { strategy: 'regenerate' }
  | { strategy: 'retry'; maxRetries?: number; backoffMs?: number }
  | { strategy: 'restore' }
  | { strategy: 'fallback'; model?: string; code?: string }
  | { strategy: 'skip'; dependents?: 'skip' | 'run' }
  | { strategy: 'ask' }
  | { strategy: 'abort' };

export type RecoveryPolicy = Partial<Record<RecoverableError, RecoveryStrategy>>;

export const DEFAULT_RECOVERY: Readonly<Record<RecoverableError, RecoveryStrategy>> = {
  CODE_ERROR: { strategy: 'regenerate' },
  SANDBOX_TIMEOUT: { strategy: 'regenerate' },
  RESOURCE_EXHAUSTED: { strategy: 'regenerate' },
  OUTPUT_LIMIT: { strategy: 'regenerate' },
  VALIDATION_ERROR: { strategy: 'regenerate' },
};

/** What the model is told, with the error, when it writes the code again. */
export const REGENERATE_HINTS: Readonly<Record<RecoverableError, string>> = {
  CODE_ERROR: 'Read the traceback, find the cause, and fix it; check column names and types against the data.',
  SANDBOX_TIMEOUT:
    'The code was too slow: use vectorised pandas or numpy operations, avoid Python loops over rows, or work on a sample.',
  RESOURCE_EXHAUSTED:
    'The code used too much memory, CPU time or disk: read only the columns needed, use smaller dtypes, process in chunks, and write smaller files.',
  OUTPUT_LIMIT:
    'The code printed too much: print summaries (head, describe, aggregates), never whole tables, and write large results to files.',
  VALIDATION_ERROR:
    'The code was refused before it ran: fix every listed problem; read and write files only in the working directory, by relative path, and do not use the network or subprocesses.',
};

export function isRecoverable(code: string): code is RecoverableError {
  return (RECOVERABLE_ERRORS as readonly string[]).includes(code);
}

/** The strategy for `code`: the step's own, else the execution's, else the default. */
export function strategyFor(
  code: RecoverableError,
  stepPolicy: RecoveryPolicy | undefined,
  executionPolicy: RecoveryPolicy | undefined,
): RecoveryStrategy {
  return stepPolicy?.[code] ?? executionPolicy?.[code] ?? DEFAULT_RECOVERY[code];
}
