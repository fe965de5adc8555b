import { budgetQuestion } from './budget';

describe('the budget check', () => {
  test('no budget never asks', () => {
    expect(budgetQuestion({ budgetUsd: null, spentUsd: 1e9, estimateUsd: 1e9, what: 'a model call' })).toBeNull();
  });

  test('asks only when spending plus the estimate would pass the budget', () => {
    expect(budgetQuestion({ budgetUsd: 1, spentUsd: 0.5, estimateUsd: 0.5, what: 'a model call' })).toBeNull();
    expect(budgetQuestion({ budgetUsd: 1, spentUsd: 0.5, estimateUsd: 0.50001, what: 'a sandbox run' })).toBe(
      'The budget of $1.0000 would be passed: $0.5000 spent, a sandbox run estimated at $0.5000. Raise the budget or stop.',
    );
  });
});
