import type { Prices, TokenUsage } from './types';

/** US dollars per million tokens. */
export interface ModelPrice {
  prompt: number;
  completion: number;
}

/**
 * List prices of common models. Unknown models cost nothing rather than a guess; operators set
 * their own with MODEL_PRICES.
 */
export const DEFAULT_MODEL_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-4o-mini': { prompt: 0.15, completion: 0.6 },
  'gpt-4o': { prompt: 2.5, completion: 10 },
  'gpt-4.1-mini': { prompt: 0.4, completion: 1.6 },
  'gpt-4.1-nano': { prompt: 0.1, completion: 0.4 },
  'gpt-4.1': { prompt: 2, completion: 8 },
};

/** The prices an execution on `model` is charged at. */
export function pricesFor(
  model: string,
  table: Readonly<Record<string, ModelPrice>>,
  sandboxPerSecond: number,
): Prices {
  const price = table[model] ?? { prompt: 0, completion: 0 };
  return { promptPerMillion: price.prompt, completionPerMillion: price.completion, sandboxPerSecond };
}

/** The cost of the tokens and sandbox time used. Pure. */
export function costUsd(prices: Prices, tokens: TokenUsage, sandboxSeconds: number): number {
  return (
    (tokens.prompt * prices.promptPerMillion + tokens.completion * prices.completionPerMillion) / 1_000_000 +
    sandboxSeconds * prices.sandboxPerSecond
  );
}
