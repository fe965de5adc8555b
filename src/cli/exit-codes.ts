import { assertNever } from '../domain/assert-never';
import type { ExecutionStatus } from '../domain/status';

/**
 * The exit codes of `agent-exec`, documented in the README's table. Scripts branch on them, so a
 * code never changes meaning: add new ones, never renumber.
 */
export const EXIT = {
  /** Done; with `--follow`, the execution succeeded. */
  OK: 0,
  /** Anything not listed below: a 500, an answer that is not the gateway's. */
  ERROR: 1,
  /** Bad flags or arguments, a file that cannot be read, an answer that does not fit the question. */
  USAGE: 2,
  /** 401 or 403: a missing, wrong or revoked key, or one without the route's scope. */
  AUTH: 3,
  /** 404: no such execution, file, task or schedule (or another tenant's). */
  NOT_FOUND: 4,
  /** 409: the execution's state does not allow it, or the name is taken. */
  CONFLICT: 5,
  /** 400, 413, 415, 422: the gateway read the request and refused it. */
  REJECTED: 6,
  /** The gateway could not be reached at all. */
  UNREACHABLE: 7,
  /** 429 or 503: the gateway, Temporal or the workers cannot take it now; try again later. */
  UNAVAILABLE: 8,
  /** With `--follow`: the execution ended `failed`. */
  FAILED: 10,
  /** With `--follow`: the execution ended `cancelled`. */
  CANCELLED: 11,
  /** With `--follow`: the execution ended `timed_out`. */
  TIMED_OUT: 12,
  /** Ctrl-C while following: the execution goes on. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The statuses an execution ends in. */
export type EndState = Extract<ExecutionStatus, 'succeeded' | 'failed' | 'cancelled' | 'timed_out'>;

/** The exit code of a followed execution that ended in `status`. */
export function exitCodeForEndState(status: EndState): ExitCode {
  switch (status) {
    case 'succeeded':
      return EXIT.OK;
    case 'failed':
      return EXIT.FAILED;
    case 'cancelled':
      return EXIT.CANCELLED;
    case 'timed_out':
      return EXIT.TIMED_OUT;
    default:
      return assertNever(status, 'end state');
  }
}

/** The exit code of a request the gateway answered with the error `status`. */
export function exitCodeForHttpStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.AUTH;
  if (status === 404) return EXIT.NOT_FOUND;
  if (status === 409) return EXIT.CONFLICT;
  if (status === 429 || status === 503) return EXIT.UNAVAILABLE;
  if (status >= 400 && status < 500) return EXIT.REJECTED;
  return EXIT.ERROR;
}
