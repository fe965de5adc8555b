import { decideAfterFailure, type FailedAttempt } from './attempt-policy';
import { applicableStrategy, customDecision, type CustomStrategy } from './custom-recovery';
import { customStrategySchema } from './custom-recovery-schema';
import { ErrorType } from './errors';

const strategy = (fields: Record<string, unknown>): CustomStrategy =>
  customStrategySchema.parse({ id: 's', name: 'S', applicableErrors: ['CODE_ERROR'], action: 'REGENERATE', ...fields });

const failed = (overrides: Partial<FailedAttempt> = {}): FailedAttempt => ({
  errorCode: ErrorType.CODE_ERROR,
  attemptsLeft: 2,
  retriesUsed: 0,
  canRewrite: true,
  onExhausted: 'fail',
  ...overrides,
});

const withCustom = (
  strategies: CustomStrategy[],
  message: string,
  uses: Record<string, number> = {},
  overrides: Partial<FailedAttempt> = {},
) =>
  decideAfterFailure(
    failed({ ...overrides, custom: { strategies, message, usesInStep: new Map(Object.entries(uses)) } }),
  );

describe('the definition of a strategy of one’s own', () => {
  test('defaults: one use, a doubling backoff from 1 s, no description', () => {
    expect(strategy({})).toEqual({
      id: 's',
      name: 'S',
      description: '',
      applicableErrors: ['CODE_ERROR'],
      action: 'REGENERATE',
      maxRetries: 1,
      backoff: { initialMs: 1000, multiplier: 2, maxMs: 300_000 },
    });
  });

  test.each([
    [{ match: '(' }, 'match', 'not a valid regular expression'],
    [{ match: '(a+)+$' }, 'match', 'exponential time'],
    [{ applicableErrors: ['INTERNAL'] }, 'applicableErrors.0', 'Invalid option'],
    [{ applicableErrors: ['CANCELLED'] }, 'applicableErrors.0', 'Invalid option'],
    [{ applicableErrors: [] }, 'applicableErrors', 'Too small'],
    [{ action: 'FALLBACK' }, 'fallback', 'needs `fallback'],
    [{ action: 'FALLBACK', fallback: {} }, 'fallback', 'names `code`, `model` or both'],
    [{ action: 'PRAY' }, 'action', 'Invalid option'],
    [{ id: 'Has Spaces' }, 'id', 'lower-case letters'],
    [{ maxRetries: 0 }, 'maxRetries', 'Too small'],
    [{ extra: 1 }, '', 'Unrecognized key'],
  ])('%j is refused at %s', (fields, path, message) => {
    const parsed = customStrategySchema.safeParse({
      id: 's',
      name: 'S',
      applicableErrors: ['CODE_ERROR'],
      action: 'REGENERATE',
      ...fields,
    });
    expect(parsed.success).toBe(false);
    const issue = parsed.error!.issues[0];
    expect(issue.path.join('.')).toBe(path);
    expect(issue.message).toContain(message);
  });
});

describe('which strategy applies', () => {
  const zero = strategy({ id: 'zero', match: 'ZeroDivision', action: 'SKIP' });
  const any = strategy({ id: 'any', action: 'ABORT', maxRetries: 2 });
  const timeouts = strategy({ id: 'slow', applicableErrors: ['SANDBOX_TIMEOUT'], action: 'RETRY' });

  test('the first in order whose error code and pattern match', () => {
    const list = [timeouts, zero, any];
    expect(applicableStrategy(list, 'CODE_ERROR', 'ZeroDivisionError: division by zero', new Map())?.id).toBe('zero');
    expect(applicableStrategy(list, 'CODE_ERROR', 'KeyError: x', new Map())?.id).toBe('any');
    expect(applicableStrategy(list, 'SANDBOX_TIMEOUT', 'too slow', new Map())?.id).toBe('slow');
    expect(applicableStrategy(list, 'OUTPUT_LIMIT', 'too much', new Map())).toBeNull();
  });

  test('one that has acted maxRetries times in the step leaves it to the next', () => {
    const uses = new Map([['zero', 1]]);
    expect(applicableStrategy([zero, any], 'CODE_ERROR', 'ZeroDivisionError', uses)?.id).toBe('any');
    expect(applicableStrategy([zero, any], 'CODE_ERROR', 'x', new Map([['any', 2]]))).toBeNull();
  });

  test('the pattern is tried on the start of the message only', () => {
    const late = 'x'.repeat(5000) + 'ZeroDivision';
    expect(applicableStrategy([zero], 'CODE_ERROR', late, new Map())).toBeNull();
  });
});

describe('what a strategy of one’s own decides', () => {
  test.each([
    ['ABORT', {}, { action: 'abort', strategy: 'abort' }],
    ['SKIP', {}, { action: 'skip', dependents: 'skip', strategy: 'skip' }],
    ['ASK', {}, { action: 'ask', because: 'strategy', strategy: 'ask' }],
    ['REGENERATE', {}, { action: 'regenerate', fresh: false, strategy: 'regenerate' }],
    ['CHECKPOINT_RESTORE', {}, { action: 'regenerate', fresh: true, strategy: 'restore' }],
    ['FALLBACK', { fallback: { code: 'print(0)' } }, { action: 'run', code: 'print(0)', strategy: 'fallback' }],
    [
      'FALLBACK',
      { fallback: { code: 'print(0)', model: 'm2' } },
      { action: 'run', code: 'print(0)', model: 'm2', strategy: 'fallback' },
    ],
    [
      'FALLBACK',
      { fallback: { model: 'm2' } },
      { action: 'regenerate', fresh: false, model: 'm2', strategy: 'fallback' },
    ],
  ])('%s %j', (action, fields, decision) => {
    const own = strategy({ id: 'mine', name: 'Mine', action, ...fields });
    expect(customDecision(failed(), own, 0)).toEqual({ ...decision, custom: { id: 'mine', name: 'Mine' } });
  });

  test('RETRY waits initialMs × multiplier^uses, at most maxMs', () => {
    const own = strategy({ action: 'RETRY', maxRetries: 5, backoff: { initialMs: 100, multiplier: 3, maxMs: 1000 } });
    expect([0, 1, 2, 3].map((uses) => customDecision(failed(), own, uses))).toEqual(
      [100, 300, 900, 1000].map((backoffMs) => ({
        action: 'rerun',
        backoffMs,
        strategy: 'retry',
        custom: { id: 's', name: 'S' },
      })),
    );
  });

  test('with no attempt left, or code the model may not rewrite, it cannot act', () => {
    const none = failed({ attemptsLeft: 0 });
    const fixed = failed({ canRewrite: false });
    expect(customDecision(none, strategy({ action: 'RETRY' }), 0)).toBeNull();
    expect(customDecision(none, strategy({ action: 'FALLBACK', fallback: { code: 'x' } }), 0)).toBeNull();
    expect(customDecision(fixed, strategy({ action: 'REGENERATE' }), 0)).toBeNull();
    expect(customDecision(fixed, strategy({ action: 'CHECKPOINT_RESTORE' }), 0)).toBeNull();
    expect(customDecision(fixed, strategy({ action: 'FALLBACK', fallback: { model: 'm2' } }), 0)).toBeNull();
    // Those that do not need an attempt still act.
    expect(customDecision(none, strategy({ action: 'SKIP' }), 0)?.action).toBe('skip');
  });
});

describe('the decision table with strategies of one’s own', () => {
  test('they come before the step’s, the execution’s and the default strategy', () => {
    const decision = withCustom(
      [strategy({ id: 'z', name: 'Z', action: 'SKIP' })],
      'boom',
      {},
      {
        stepPolicy: { CODE_ERROR: { strategy: 'abort' } },
      },
    );
    expect(decision).toEqual({ action: 'skip', dependents: 'skip', strategy: 'skip', custom: { id: 'z', name: 'Z' } });
  });

  test('when none applies, or the one that applies cannot act, the next one or the built-in decides', () => {
    const cannot = strategy({ id: 'a', action: 'REGENERATE' });
    const next = strategy({ id: 'b', action: 'ABORT' });
    expect(withCustom([cannot, next], 'x', {}, { canRewrite: false })).toMatchObject({
      action: 'abort',
      custom: { id: 'b' },
    });
    expect(withCustom([cannot], 'x', {}, { canRewrite: false })).toEqual({ action: 'give_up', strategy: 'regenerate' });
    expect(withCustom([strategy({ match: 'nothing like it' })], 'x')).toEqual({
      action: 'regenerate',
      fresh: false,
      strategy: 'regenerate',
    });
    expect(withCustom([strategy({ action: 'ABORT' })], 'x', { s: 1 })).toEqual({
      action: 'regenerate',
      fresh: false,
      strategy: 'regenerate',
    });
  });

  test('a failure a step throws is answered only by a strategy of one’s own that names it', () => {
    const thrown = { errorCode: ErrorType.LLM_UNAVAILABLE };
    const fallback = strategy({
      id: 'f',
      name: 'F',
      applicableErrors: ['LLM_UNAVAILABLE', 'SANDBOX_UNAVAILABLE'],
      action: 'FALLBACK',
      fallback: { code: 'print(1)' },
    });
    expect(withCustom([fallback], 'the endpoint kept failing', {}, thrown)).toEqual({
      action: 'run',
      code: 'print(1)',
      strategy: 'fallback',
      custom: { id: 'f', name: 'F' },
    });
    // No built-in strategy answers it: a strategy for other codes, or one used up, leaves it given up.
    expect(withCustom([strategy({ action: 'SKIP' })], 'x', {}, thrown)).toEqual({ action: 'give_up', strategy: null });
    expect(withCustom([fallback], 'x', { f: 1 }, thrown)).toEqual({ action: 'give_up', strategy: null });
    expect(decideAfterFailure(failed(thrown))).toEqual({ action: 'give_up', strategy: null });
  });

  test('an error no strategy may answer is given up whatever is registered', () => {
    expect(withCustom([strategy({ action: 'SKIP' })], 'x', {}, { errorCode: ErrorType.INTERNAL })).toEqual({
      action: 'give_up',
      strategy: null,
    });
  });
});
