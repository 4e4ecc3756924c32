import {
  BUDGET_EXCEEDED,
  BUDGET_EXCEEDED_STATUS,
  costOf,
  type ModelPrices,
  priceOf,
  type TokenUsage,
} from '@anton/contracts';

/**
 * The runner's own count of the task's spend, by the same price table as its credential proxy
 * (which enforces the budget whatever this count says): it tells the model what is left and asks
 * for a last submission before the proxy refuses.
 */
export class RunBudget {
  readonly limitUsd: number;
  readonly #prices: ModelPrices;
  #spentUsd = 0;

  constructor(limitUsd: number, prices: ModelPrices) {
    this.limitUsd = limitUsd;
    this.#prices = prices;
  }

  get spentUsd(): number {
    return this.#spentUsd;
  }

  get remainingUsd(): number {
    return Math.max(0, this.limitUsd - this.#spentUsd);
  }

  get spentFraction(): number {
    return this.#spentUsd / this.limitUsd;
  }

  /** Adds one answer's cost; returns it. */
  add(model: string, usage: TokenUsage): number {
    const cost = costOf(usage, priceOf(model, this.#prices));
    this.#spentUsd += cost;
    return cost;
  }
}

/** The credential proxy's refusal once the budget is spent (402 `budget_exceeded`), from either SDK. */
export function isBudgetExceeded(err: unknown): boolean {
  const e = err as { status?: unknown; code?: unknown; type?: unknown; error?: { error?: { type?: unknown } } };
  if (e?.status !== BUDGET_EXCEEDED_STATUS) return false;
  return e.error?.error?.type === BUDGET_EXCEEDED || e.code === BUDGET_EXCEEDED || e.type === BUDGET_EXCEEDED;
}

export const usd = (value: number): string => `$${value.toFixed(2)}`;
