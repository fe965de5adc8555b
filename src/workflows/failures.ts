import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { isThrownError } from '../domain/custom-recovery';
import { ErrorType } from '../domain/errors';

/** A question to a person went unanswered for longer than `inputTimeoutMs`. */
export class InputExpired extends Error {
  override readonly name = 'InputExpired';
}

/** A person chose to stop the execution (at a budget question). */
export class StoppedByPerson extends Error {
  override readonly name = 'StoppedByPerson';
}

/** The error type of a failure an activity threw, read from its `type` string. */
export function failureType(error: unknown): ErrorType {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && cause.type && cause.type in ErrorType) return cause.type as ErrorType;
  return ErrorType.INTERNAL;
}

/** The message of a failure, without the activity wrapper's. */
export function describeFailure(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * A failure of a step's model call or sandbox run that an activity threw and a strategy of one's
 * own may answer (see `THROWN_ERRORS`), or null for any other error, a cancellation among them.
 */
export function thrownStepFailure(error: unknown): { code: ErrorType; message: string } | null {
  if (!(error instanceof ActivityFailure)) return null;
  const code = failureType(error);
  return isThrownError(code) ? { code, message: describeFailure(error) } : null;
}
