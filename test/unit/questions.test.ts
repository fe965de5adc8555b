import { answerProblem, readBudget, readRecovery } from '../../src/domain/questions';

/** The branches src/domain/questions.test.ts leaves: budgets, lengths, and bad shapes of answers. */
describe('answers to a waiting execution', () => {
  test('a budget raise is an approval with a positive, finite budgetUsd; anything else is none', () => {
    expect(readBudget({ approve: true, input: { budgetUsd: 2.5 } })).toBe(2.5);
    for (const answer of [
      { approve: false, input: { budgetUsd: 2.5 } },
      { input: { budgetUsd: 2.5 } },
      { approve: true },
      { approve: true, input: null },
      { approve: true, input: '2.5' },
      { approve: true, input: { budgetUsd: '2.5' } },
      { approve: true, input: { budgetUsd: 0 } },
      { approve: true, input: { budgetUsd: -1 } },
      { approve: true, input: { budgetUsd: Infinity } },
      { approve: true, input: { budgetUsd: NaN } },
    ]) {
      expect(readBudget(answer)).toBeNull();
    }
  });

  test('a budget question takes a raise or a stop, and says how to answer otherwise', () => {
    expect(answerProblem('budget', { approve: true, input: { budgetUsd: 1 } }, true)).toBeNull();
    expect(answerProblem('budget', { approve: false }, true)).toBeNull();
    expect(answerProblem('budget', { approve: true }, true)).toContain('"budgetUsd": <new budget>');
    expect(answerProblem('budget', { input: 'more please' }, true)).toContain('"approve": false');
  });

  test('"approve" must be a boolean, whatever the question', () => {
    for (const kind of ['approval', 'budget', 'recovery', 'input'] as const) {
      expect(answerProblem(kind, { approve: 1 as unknown as boolean }, true)).toBe('"approve" must be true or false');
    }
  });

  test('input questions read like recovery ones', () => {
    expect(answerProblem('input', { input: 'the file is sales.csv' }, true)).toBeNull();
    expect(answerProblem('input', { input: {} }, true)).toContain('{"input": {"hint": "…"}}');
    expect(answerProblem('input', { approve: false }, true)).toBeNull();
  });

  test('code wins over a hint in one answer; blank code and non-string values are no answer', () => {
    expect(readRecovery({ input: { hint: 'h', code: 'print(1)' } })).toEqual({ kind: 'code', code: 'print(1)' });
    expect(readRecovery({ input: { hint: 'use revenue', code: '   ' } })).toEqual({
      kind: 'hint',
      hint: 'use revenue',
    });
    expect(readRecovery({ input: { code: 42 } })).toBeNull();
    expect(readRecovery({ input: '   ' })).toBeNull();
    expect(readRecovery({ input: null })).toBeNull();
    expect(readRecovery({})).toBeNull();
  });

  test('hints and code past their lengths are refused, at the limit they are not', () => {
    expect(answerProblem('recovery', { input: { hint: 'h'.repeat(4000) } }, true)).toBeNull();
    expect(answerProblem('recovery', { input: { hint: 'h'.repeat(4001) } }, true)).toBe('the hint is too long');
    expect(answerProblem('recovery', { input: { code: 'x'.repeat(200_000) } }, true)).toBeNull();
    expect(answerProblem('recovery', { input: { code: 'x'.repeat(200_001) } }, true)).toBe('the code is too long');
  });

  test('a question of a kind the table does not know is named, not accepted', () => {
    expect(answerProblem('survey' as never, { approve: true }, true)).toBe('unknown question survey');
  });
});
