import type { TokenUsage } from './types';

/** US dollars per million tokens. */
export interface ModelPrice {
  prompt: number;
  completion: number;
}

/** Published list prices of common models; unknown models cost nothing rather than a guess. */
export const DEFAULT_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-4o-mini': { prompt: 0.15, completion: 0.6 },
  'gpt-4o': { prompt: 2.5, completion: 10 },
  'gpt-4.1-mini': { prompt: 0.4, completion: 1.6 },
  'gpt-4.1': { prompt: 2, completion: 8 },
};

/** The cost of `usage` on `model`. Pure. */
export function tokenCostUsd(model: string, usage: TokenUsage, prices = DEFAULT_PRICES): number {
  const price = prices[model];
  if (price === undefined) return 0;
  return (usage.prompt * price.prompt + usage.completion * price.completion) / 1_000_000;
}
