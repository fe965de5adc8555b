import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';
import { LLM_NON_RETRYABLE, SANDBOX_NON_RETRYABLE } from '../domain/errors';

/** Model calls: transient endpoint faults are retried with backoff; refusals are not. */
export const LLM_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '3 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [...LLM_NON_RETRYABLE],
  },
  cancellationType: ActivityCancellationType.TRY_CANCEL,
};

/** Quick local checks. */
export const CHECK_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
};

/** Reads of the service's database (a schedule's task): retried while the database is away. */
export const RESOLVE_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
};

/**
 * One webhook delivery: retried with backoff for about two hours (15 attempts, at most 10 minutes
 * apart); every attempt is in the subscription's delivery log.
 */
export const DELIVERY_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    maximumAttempts: 15,
    nonRetryableErrorTypes: ['PRIVATE_ADDRESS'],
  },
};

/**
 * Sandbox runs heartbeat, so a lost worker is noticed within the heartbeat timeout and the run
 * retried elsewhere; on cancellation the workflow waits until the sandbox is really gone.
 */
export function sandboxActivity(runTimeoutMs: number): ActivityOptions {
  return {
    startToCloseTimeout: runTimeoutMs + 60_000,
    heartbeatTimeout: '15 seconds',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumAttempts: 4,
      nonRetryableErrorTypes: [...SANDBOX_NON_RETRYABLE],
    },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  };
}
