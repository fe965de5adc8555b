import { DEFAULT_MODEL_PRICES, costUsd, pricesFor } from '../../src/domain/pricing';

describe('pricing', () => {
  test('a listed model is charged at its list price, with the sandbox price passed through', () => {
    expect(pricesFor('gpt-4o', DEFAULT_MODEL_PRICES, 0.001)).toEqual({
      promptPerMillion: 2.5,
      completionPerMillion: 10,
      sandboxPerSecond: 0.001,
    });
  });

  test('a model missing from the table costs nothing rather than a guess', () => {
    expect(pricesFor('my-own-model', DEFAULT_MODEL_PRICES, 0)).toEqual({
      promptPerMillion: 0,
      completionPerMillion: 0,
      sandboxPerSecond: 0,
    });
  });

  test('the cost adds prompt tokens, completion tokens and sandbox seconds at their prices', () => {
    const prices = { promptPerMillion: 2, completionPerMillion: 8, sandboxPerSecond: 0.5 };
    // 1M prompt tokens at $2, 500k completion tokens at $8, 3 s of sandbox at $0.5.
    expect(costUsd(prices, { prompt: 1_000_000, completion: 500_000 }, 3)).toBeCloseTo(2 + 4 + 1.5, 10);
    expect(costUsd(prices, { prompt: 0, completion: 0 }, 0)).toBe(0);
  });
});
