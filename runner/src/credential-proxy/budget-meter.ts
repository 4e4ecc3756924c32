import {
  BUDGET_EXCEEDED,
  BUDGET_EXCEEDED_STATUS,
  costOf,
  type ModelPrices,
  priceOf,
  type TokenUsage,
} from '@anton/contracts';

export type MeteredKind = 'anthropic' | 'openai';

/** The usage of one provider answer, in Anthropic's terms (as the runner counts it). */
function usageOf(kind: MeteredKind, answer: Record<string, unknown>): TokenUsage | undefined {
  const usage = answer.usage as Record<string, unknown> | undefined;
  if (typeof usage !== 'object' || usage === null) return undefined;
  const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0);
  if (kind === 'anthropic') {
    if (typeof usage.input_tokens !== 'number' || typeof usage.output_tokens !== 'number') return undefined;
    return {
      input_tokens: count(usage.input_tokens),
      output_tokens: count(usage.output_tokens),
      cache_creation_input_tokens: count(usage.cache_creation_input_tokens),
      cache_read_input_tokens: count(usage.cache_read_input_tokens),
    };
  }
  if (typeof usage.prompt_tokens !== 'number' || typeof usage.completion_tokens !== 'number') return undefined;
  const cached = count((usage.prompt_tokens_details as { cached_tokens?: unknown } | undefined)?.cached_tokens);
  return {
    input_tokens: Math.max(0, count(usage.prompt_tokens) - cached),
    output_tokens: count(usage.completion_tokens),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

/**
 * The task's budget, kept by the proxy because it sees every model call: each answer's usage is
 * priced and added; once the spend reaches the budget, model calls are refused. A call in flight
 * when the budget runs out still completes, so the spend can pass the budget by at most the calls
 * the runner makes at once (it makes one at a time). An answer whose usage cannot be read counts as
 * spending the rest of the budget: the cap fails closed.
 */
export class BudgetMeter {
  readonly budgetUsd: number;
  readonly #prices: ModelPrices;
  #spentUsd = 0;

  constructor(budgetUsd: number, prices: ModelPrices) {
    this.budgetUsd = budgetUsd;
    this.#prices = prices;
  }

  get spentUsd(): number {
    return this.#spentUsd;
  }

  get exhausted(): boolean {
    return this.#spentUsd >= this.budgetUsd;
  }

  /** Adds a successful answer's cost; returns it (the whole rest of the budget when unreadable). */
  record(kind: MeteredKind, requestModel: string | undefined, body: Buffer): number {
    let answer: unknown;
    try {
      answer = JSON.parse(body.toString('utf8'));
    } catch {
      answer = undefined;
    }
    const usage =
      typeof answer === 'object' && answer !== null ? usageOf(kind, answer as Record<string, unknown>) : undefined;
    if (!usage) {
      const rest = Math.max(0, this.budgetUsd - this.#spentUsd);
      this.#spentUsd = Math.max(this.#spentUsd, this.budgetUsd);
      return rest;
    }
    const model = String((answer as { model?: unknown }).model ?? requestModel ?? '');
    const cost = costOf(usage, priceOf(model, this.#prices));
    this.#spentUsd += cost;
    return cost;
  }

  /** The refusal, in the provider's own error shape so its SDK raises it as an API error (402: never retried). */
  refusal(kind: MeteredKind): { status: number; body: string } {
    const message =
      `anton credential proxy: the task's budget of $${this.budgetUsd.toFixed(2)} is spent ` +
      `($${this.#spentUsd.toFixed(4)}); no more model calls are allowed`;
    const body =
      kind === 'anthropic'
        ? { type: 'error', error: { type: BUDGET_EXCEEDED, message } }
        : { error: { message, type: BUDGET_EXCEEDED, code: BUDGET_EXCEEDED, param: null } };
    return { status: BUDGET_EXCEEDED_STATUS, body: JSON.stringify(body) };
  }
}
