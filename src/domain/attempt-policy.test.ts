import { decideAfterFailure, type AttemptDecision, type FailedAttempt } from './attempt-policy';
import { ErrorType } from './errors';
import { RECOVERABLE_ERRORS, type RecoveryStrategy } from './recovery';

const base = (overrides: Partial<FailedAttempt> = {}): FailedAttempt => ({
  errorCode: ErrorType.CODE_ERROR,
  attemptsLeft: 2,
  retriesUsed: 0,
  canRewrite: true,
  onExhausted: 'fail',
  ...overrides,
});

const STRATEGIES: RecoveryStrategy[] = [
  { strategy: 'regenerate' },
  { strategy: 'retry', maxRetries: 2, backoffMs: 100 },
  { strategy: 'restore' },
  { strategy: 'fallback', code: 'print(2)' },
  { strategy: 'fallback', model: 'other-model' },
  { strategy: 'skip', dependents: 'run' },
  { strategy: 'ask' },
  { strategy: 'abort' },
];

/**
 * The expected decision for each strategy, with attempts left and none left, and with the model
 * allowed to rewrite the code or not (a caller's code without `repair`).
 */
function expected(strategy: RecoveryStrategy, attemptsLeft: number, canRewrite: boolean): AttemptDecision {
  const name = strategy.strategy;
  const exhausted: AttemptDecision = { action: 'give_up', strategy: name };
  switch (strategy.strategy) {
    case 'regenerate':
      return attemptsLeft > 0 && canRewrite ? { action: 'regenerate', fresh: false, strategy: name } : exhausted;
    case 'retry':
      if (attemptsLeft > 0) return { action: 'rerun', backoffMs: 100, strategy: name };
      return exhausted;
    case 'restore':
      return attemptsLeft > 0 && canRewrite ? { action: 'regenerate', fresh: true, strategy: name } : exhausted;
    case 'fallback':
      if (attemptsLeft === 0) return exhausted;
      if (strategy.code) return { action: 'run', code: strategy.code, strategy: name };
      return canRewrite ? { action: 'regenerate', fresh: false, model: strategy.model, strategy: name } : exhausted;
    case 'skip':
      return { action: 'skip', dependents: 'run', strategy: name };
    case 'ask':
      return { action: 'ask', because: 'strategy', strategy: name };
    case 'abort':
      return { action: 'abort', strategy: name };
  }
}

describe('the decision after a failed attempt', () => {
  const cells = RECOVERABLE_ERRORS.flatMap((errorCode) =>
    STRATEGIES.flatMap((strategy) =>
      [0, 1].flatMap((attemptsLeft) =>
        [true, false].map((canRewrite) => ({ errorCode, strategy, attemptsLeft, canRewrite })),
      ),
    ),
  );

  test.each(cells)(
    '$errorCode with $strategy.strategy, $attemptsLeft left, rewrite $canRewrite',
    ({ errorCode, strategy, attemptsLeft, canRewrite }) => {
      const decision = decideAfterFailure(
        base({ errorCode, attemptsLeft, canRewrite, executionPolicy: { [errorCode]: strategy } }),
      );
      expect(decision).toEqual(expected(strategy, attemptsLeft, canRewrite));
    },
  );

  test('errors no strategy answers give up at once', () => {
    for (const errorCode of [ErrorType.LLM_ERROR, ErrorType.INTERNAL, ErrorType.ARTIFACT_MISSING]) {
      expect(decideAfterFailure(base({ errorCode, onExhausted: 'ask' }))).toEqual({
        action: 'give_up',
        strategy: null,
      });
    }
  });

  test('the default regenerates with the error', () => {
    expect(decideAfterFailure(base())).toEqual({ action: 'regenerate', fresh: false, strategy: 'regenerate' });
  });

  test('used-up attempts ask a person when onExhausted is ask', () => {
    expect(decideAfterFailure(base({ attemptsLeft: 0, onExhausted: 'ask' }))).toEqual({
      action: 'ask',
      because: 'exhausted',
      strategy: 'regenerate',
    });
    expect(decideAfterFailure(base({ canRewrite: false, onExhausted: 'ask' }))).toMatchObject({ action: 'ask' });
  });

  test('retry doubles its backoff, then falls back to regenerating', () => {
    const policy = { CODE_ERROR: { strategy: 'retry', maxRetries: 3, backoffMs: 250 } } as const;
    const backoffs = [0, 1, 2].map((retriesUsed) =>
      decideAfterFailure(base({ retriesUsed, attemptsLeft: 5, executionPolicy: policy })),
    );
    expect(backoffs.map((decision) => (decision.action === 'rerun' ? decision.backoffMs : null))).toEqual([
      250, 500, 1000,
    ]);
    expect(decideAfterFailure(base({ retriesUsed: 3, attemptsLeft: 5, executionPolicy: policy }))).toEqual({
      action: 'regenerate',
      fresh: false,
      strategy: 'retry',
    });
    expect(decideAfterFailure(base({ executionPolicy: { CODE_ERROR: { strategy: 'retry' } } }))).toEqual({
      action: 'rerun',
      backoffMs: 1000,
      strategy: 'retry',
    });
  });

  test("a step's policy beats the execution's, which beats the default", () => {
    const decision = decideAfterFailure(
      base({ stepPolicy: { CODE_ERROR: { strategy: 'abort' } }, executionPolicy: { CODE_ERROR: { strategy: 'ask' } } }),
    );
    expect(decision).toEqual({ action: 'abort', strategy: 'abort' });
    expect(decideAfterFailure(base({ stepPolicy: { SANDBOX_TIMEOUT: { strategy: 'abort' } } }))).toMatchObject({
      action: 'regenerate',
    });
  });

  test('skip takes its dependents along by default; fallback code may switch the model too', () => {
    expect(decideAfterFailure(base({ executionPolicy: { CODE_ERROR: { strategy: 'skip' } } }))).toEqual({
      action: 'skip',
      dependents: 'skip',
      strategy: 'skip',
    });
    expect(
      decideAfterFailure(
        base({ executionPolicy: { CODE_ERROR: { strategy: 'fallback', code: 'print(1)', model: 'm2' } } }),
      ),
    ).toEqual({ action: 'run', code: 'print(1)', model: 'm2', strategy: 'fallback' });
  });
});
