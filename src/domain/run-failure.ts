import { ErrorType } from './errors';
import type { ExecuteOutcome } from './types';

/**
 * The failure of a sandbox run as the model and the person should read it, or null when the run
 * succeeded. The one place that decides an attempt's error code from a run. Pure.
 */
export function runFailure(outcome: ExecuteOutcome): { code: ErrorType; message: string } | null {
  if (outcome.ok) return null;
  const code = outcome.errorType ?? ErrorType.CODE_ERROR;
  const parts: string[] = [];
  if (outcome.error) {
    parts.push(outcome.error.traceback.trim() || `${outcome.error.name}: ${outcome.error.value}`);
  }
  switch (outcome.errorType) {
    case ErrorType.SANDBOX_TIMEOUT:
      parts.push('The run was stopped because it went past its time limit.');
      break;
    case ErrorType.RESOURCE_EXHAUSTED:
      parts.push('The run was stopped because it used more memory, CPU time or disk than allowed.');
      break;
    case ErrorType.OUTPUT_LIMIT:
      parts.push('The run was stopped because it printed more output than allowed.');
      break;
    default:
      break;
  }
  if (parts.length === 0 && outcome.stderr.trim() !== '') parts.push(outcome.stderr.trim());
  return { code, message: parts.join('\n') || 'The code failed without an error message.' };
}

/** The failure of code refused before it ran. */
export function validationFailure(problems: readonly string[]): { code: ErrorType; message: string } {
  return {
    code: ErrorType.VALIDATION_ERROR,
    message: `The code was refused before running: ${problems.join('; ')}`,
  };
}
