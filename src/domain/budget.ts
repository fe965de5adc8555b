/** What the next piece of work would cost, against the budget. */
export interface BudgetCheck {
  /** The budget in US dollars, or null for none. */
  budgetUsd: number | null;
  spentUsd: number;
  estimateUsd: number;
  /** What is about to happen, as a person reads it: "a model call", "a sandbox run". */
  what: string;
}

/**
 * The question to put to a person when the spending so far plus the estimate of the next call
 * would pass the budget, or null when the work may go on. Pure.
 */
export function budgetQuestion(check: BudgetCheck): string | null {
  const { budgetUsd, spentUsd, estimateUsd, what } = check;
  if (budgetUsd === null || spentUsd + estimateUsd <= budgetUsd) return null;
  return (
    `The budget of $${budgetUsd.toFixed(4)} would be passed: $${spentUsd.toFixed(4)} spent, ` +
    `${what} estimated at $${estimateUsd.toFixed(4)}. Raise the budget or stop.`
  );
}
