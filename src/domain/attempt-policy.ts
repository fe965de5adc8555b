import { assertNever } from './assert-never';
import type { ErrorType } from './errors';
import { applicableStrategy, customDecision, type CustomStrategy, type CustomUse } from './custom-recovery';
import { isRecoverable, strategyFor, type RecoveryPolicy } from './recovery';
import type { OnExhausted } from './types';

/** What is known after an attempt of a step failed. */
export interface FailedAttempt {
  /** The error code of the failed attempt. */
  errorCode: ErrorType;
  /** The step's own recovery policy; it beats the execution's, which beats the default. */
  stepPolicy?: RecoveryPolicy;
  executionPolicy?: RecoveryPolicy;
  /** Attempts the step may still make. */
  attemptsLeft: number;
  /** Reruns of the same code already made for this error code in this step. */
  retriesUsed: number;
  /** Whether the model may write new code for this step (false for a caller's code without `repair`). */
  canRewrite: boolean;
  onExhausted: OnExhausted;
  /** Strategies of one's own, consulted in order before the built-in ones. */
  custom?: {
    strategies: readonly CustomStrategy[];
    /** The failed attempt's error message, which a strategy's `match` is tried on. */
    message: string;
    /** How many times each of them acted in this step. */
    usesInStep: ReadonlyMap<string, number>;
  };
}

/**
 * What the step does next:
 * - `rerun`: the same code again after `backoffMs`;
 * - `regenerate`: the model writes new code; `fresh` forgets the failed attempts (a restore), `model`
 *   switches the model for the rest of the step (a fallback);
 * - `run`: the fallback code (and, with `model`, later regenerations use that model);
 * - `ask`: wait for a person's hint or code, or their giving up;
 * - `skip`: give the step up; its dependents are skipped too, or run without its outputs;
 * - `abort`: fail the execution now, stopping the steps that run beside it;
 * - `give_up`: the step fails; steps already running beside it finish.
 */
export type AttemptAction =
  | { action: 'rerun'; backoffMs: number }
  | { action: 'regenerate'; fresh: boolean; model?: string }
  | { action: 'run'; code: string; model?: string }
  | { action: 'ask'; because: 'strategy' | 'exhausted' }
  | { action: 'skip'; dependents: 'skip' | 'run' }
  | { action: 'abort' }
  | { action: 'give_up' };

/**
 * The action, with the strategy that chose it (null for an error no strategy can answer) and, when a
 * strategy of one's own chose it, which one.
 */
export type AttemptDecision = AttemptAction & { strategy: string | null; custom?: CustomUse };

const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_BACKOFF_MS = 1000;

/**
 * The decision table after a failed attempt. Pure: the workflow applies it, and any change to it
 * changes what recorded executions do, so it is guarded by the replay suite.
 */
export function decideAfterFailure(failed: FailedAttempt): AttemptDecision {
  // Strategies of one's own come first, and may answer failures no built-in strategy answers.
  const own = failed.custom ? customFirst(failed, failed.custom) : null;
  if (own !== null) return own;
  if (!isRecoverable(failed.errorCode)) return { action: 'give_up', strategy: null };
  const strategy = strategyFor(failed.errorCode, failed.stepPolicy, failed.executionPolicy);
  return { ...actionFor(failed, strategy), strategy: strategy.strategy };
}

/** The first strategy of one's own that applies and can act, tried in order. */
function customFirst(failed: FailedAttempt, custom: NonNullable<FailedAttempt['custom']>): AttemptDecision | null {
  const skipped = new Set<string>();
  for (;;) {
    const remaining = custom.strategies.filter((strategy) => !skipped.has(strategy.id));
    const strategy = applicableStrategy(remaining, failed.errorCode, custom.message, custom.usesInStep);
    if (strategy === null) return null;
    const decision = customDecision(failed, strategy, custom.usesInStep.get(strategy.id) ?? 0);
    if (decision !== null) return decision;
    skipped.add(strategy.id);
  }
}

function actionFor(failed: FailedAttempt, strategy: ReturnType<typeof strategyFor>): AttemptAction {
  const { attemptsLeft } = failed;
  const exhausted: AttemptAction =
    failed.onExhausted === 'ask' ? { action: 'ask', because: 'exhausted' } : { action: 'give_up' };
  const regenerate = (fresh: boolean, model?: string): AttemptAction =>
    attemptsLeft > 0 && failed.canRewrite ? { action: 'regenerate', fresh, ...(model ? { model } : {}) } : exhausted;
  switch (strategy.strategy) {
    case 'abort':
      return { action: 'abort' };
    case 'skip':
      return { action: 'skip', dependents: strategy.dependents ?? 'skip' };
    case 'ask':
      return { action: 'ask', because: 'strategy' };
    case 'retry': {
      const used = failed.retriesUsed;
      if (used < (strategy.maxRetries ?? DEFAULT_MAX_RETRIES) && attemptsLeft > 0) {
        return { action: 'rerun', backoffMs: (strategy.backoffMs ?? DEFAULT_BACKOFF_MS) * 2 ** used };
      }
      return regenerate(false);
    }
    case 'restore':
      return regenerate(true);
    case 'fallback':
      if (attemptsLeft === 0) return exhausted;
      if (strategy.code)
        return { action: 'run', code: strategy.code, ...(strategy.model ? { model: strategy.model } : {}) };
      return regenerate(false, strategy.model);
    case 'regenerate':
      return regenerate(false);
    default:
      return assertNever(strategy, 'recovery strategy');
  }
}
