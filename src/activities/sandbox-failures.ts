import { ApplicationFailure } from '@temporalio/activity';
import { ErrorType } from '../domain/errors';
import type { SandboxKind } from '../domain/sandbox-kinds';
import { SandboxConfigurationError, SandboxUnavailableError, type Sandbox } from '../sandbox/types';

/** The worker's sandbox of `kind`; a failure Temporal does not retry when this worker has none. */
export function sandboxOf(sandboxes: Partial<Record<SandboxKind, Sandbox>>, kind: SandboxKind): Sandbox {
  const sandbox = sandboxes[kind];
  if (sandbox) return sandbox;
  throw ApplicationFailure.nonRetryable(
    `The ${kind} sandbox is not configured on this worker.`,
    ErrorType.SANDBOX_UNAVAILABLE,
  );
}

/** A sandbox that cannot start as the failure the retry policy acts on: for good when misconfigured. */
export function sandboxFailure(error: unknown): unknown {
  if (error instanceof SandboxConfigurationError) {
    return ApplicationFailure.nonRetryable(error.message, ErrorType.SANDBOX_UNAVAILABLE);
  }
  if (error instanceof SandboxUnavailableError) {
    return ApplicationFailure.retryable(error.message, ErrorType.SANDBOX_UNAVAILABLE);
  }
  return error;
}
