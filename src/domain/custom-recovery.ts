import type { AttemptDecision, FailedAttempt } from './attempt-policy';
import type { CustomStrategy } from './custom-recovery-schema';
import { ErrorType } from './errors';
import { RECOVERABLE_ERRORS } from './recovery';

/**
 * What a strategy of one's own does when it applies:
 * - `RETRY`: the same code again after its backoff;
 * - `REGENERATE`: the model writes the code again, with the error;
 * - `CHECKPOINT_RESTORE`: the step starts afresh from its inputs (its last checkpoint), forgetting the
 *   failed attempts, and the model writes new code;
 * - `FALLBACK`: the strategy's `fallback.code`, or new code from `fallback.model`;
 * - `SKIP`: the step is given up and its dependents skipped;
 * - `ASK`: a person is asked for a hint or code;
 * - `ABORT`: the execution fails now.
 */
export const CUSTOM_ACTIONS = [
  'RETRY',
  'REGENERATE',
  'CHECKPOINT_RESTORE',
  'FALLBACK',
  'SKIP',
  'ASK',
  'ABORT',
] as const;

export type CustomAction = (typeof CUSTOM_ACTIONS)[number];

/**
 * Failures a step's model call or sandbox run throws once Temporal's retry policy gives up. No
 * built-in strategy answers them (they fail the execution), but a strategy of one's own may.
 */
export const THROWN_ERRORS = [
  ErrorType.LLM_ERROR,
  ErrorType.LLM_RATE_LIMITED,
  ErrorType.LLM_UNAVAILABLE,
  ErrorType.LLM_CONTEXT_TOO_LONG,
  ErrorType.LLM_BAD_OUTPUT,
  ErrorType.SANDBOX_UNAVAILABLE,
] as const;

/** The error codes a strategy of one's own may name: an attempt's failures and the thrown ones. */
export const CUSTOM_ERRORS = [...RECOVERABLE_ERRORS, ...THROWN_ERRORS] as const;

/** Whether `code` is a failure a step throws that a strategy of one's own may answer. */
export function isThrownError(code: string): code is (typeof THROWN_ERRORS)[number] {
  return (THROWN_ERRORS as readonly string[]).includes(code);
}

/** The longest `match` pattern, and how much of an error message it is tried on. */
export const MATCH_PATTERN_CHARS = 200;
export const MATCHED_MESSAGE_CHARS = 4000;

export type { CustomStrategy };

/** The strategies an execution consults first: its own (and its task's), then its tenant's. */
export const MAX_CUSTOM_STRATEGIES = 20;

/** A strategy of one's own that applied, named on the timeline. */
export interface CustomUse {
  id: string;
  name: string;
}

/** The first strategy that applies to this failure and has uses left in the step, or null. */
export function applicableStrategy(
  strategies: readonly CustomStrategy[],
  errorCode: string,
  message: string,
  usesInStep: ReadonlyMap<string, number>,
): CustomStrategy | null {
  const text = message.slice(0, MATCHED_MESSAGE_CHARS);
  for (const strategy of strategies) {
    if (!(strategy.applicableErrors as readonly string[]).includes(errorCode)) continue;
    if ((usesInStep.get(strategy.id) ?? 0) >= strategy.maxRetries) continue;
    if (strategy.match !== undefined && !new RegExp(strategy.match).test(text)) continue;
    return strategy;
  }
  return null;
}

/**
 * What a strategy of one's own decides, or null when it cannot act here (no attempt left, or code
 * it may not rewrite), so that the next strategy decides. Pure, like the built-in table.
 */
export function customDecision(
  failed: FailedAttempt,
  strategy: CustomStrategy,
  usesInStep: number,
): (AttemptDecision & { custom: CustomUse }) | null {
  const custom = { id: strategy.id, name: strategy.name };
  const canRegenerate = failed.attemptsLeft > 0 && failed.canRewrite;
  switch (strategy.action) {
    case 'ABORT':
      return { action: 'abort', strategy: 'abort', custom };
    case 'SKIP':
      return { action: 'skip', dependents: 'skip', strategy: 'skip', custom };
    case 'ASK':
      return { action: 'ask', because: 'strategy', strategy: 'ask', custom };
    case 'RETRY': {
      if (failed.attemptsLeft === 0) return null;
      const { initialMs, multiplier, maxMs } = strategy.backoff;
      const backoffMs = Math.round(Math.min(maxMs, initialMs * multiplier ** usesInStep));
      return { action: 'rerun', backoffMs, strategy: 'retry', custom };
    }
    case 'REGENERATE':
      return canRegenerate ? { action: 'regenerate', fresh: false, strategy: 'regenerate', custom } : null;
    case 'CHECKPOINT_RESTORE':
      return canRegenerate ? { action: 'regenerate', fresh: true, strategy: 'restore', custom } : null;
    case 'FALLBACK': {
      if (failed.attemptsLeft === 0) return null;
      const { code, model } = strategy.fallback ?? {};
      if (code !== undefined) return { action: 'run', code, ...(model ? { model } : {}), strategy: 'fallback', custom };
      return canRegenerate && model
        ? { action: 'regenerate', fresh: false, model, strategy: 'fallback', custom }
        : null;
    }
  }
}
