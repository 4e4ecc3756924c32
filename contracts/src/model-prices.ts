import { z } from 'zod';
import type { TokenUsage } from './usage.ts';

const usd = z.number().nonnegative();

/** USD per million tokens of each kind a provider bills (OpenAI's cached prompt tokens are cache reads). */
export const ModelPrice = z.strictObject({ input: usd, output: usd, cache_write: usd, cache_read: usd });
export type ModelPrice = z.infer<typeof ModelPrice>;

/** Model name → its price; `MODEL_PRICES` (JSON) adds to or overrides the defaults. */
export const ModelPrices = z.record(z.string().min(1), ModelPrice);
export type ModelPrices = z.infer<typeof ModelPrices>;

/**
 * The list prices of the default models, per MTok (standard tier, 5-minute cache writes).
 * claude-sonnet-5-5: Anthropic's pricing page (Sonnet 5 and 5.5 alike): $2 in, $10 out, $2.50 cache
 * write, $0.20 cache read. gpt-4o: OpenAI's pricing page: $2.50 in, $10 out, $1.25 cached input
 * (OpenAI bills no cache write).
 */
export const DEFAULT_MODEL_PRICES: ModelPrices = {
  'claude-sonnet-5-5': { input: 2, output: 10, cache_write: 2.5, cache_read: 0.2 },
  'gpt-4o': { input: 2.5, output: 10, cache_write: 0, cache_read: 1.25 },
};

/**
 * The price of a model: its own entry, else the entry whose name prefixes it (a dated snapshot of a
 * listed model), else the dearest of each kind in the table, so an unknown model is never cheap.
 */
export function priceOf(model: string, prices: ModelPrices): ModelPrice {
  const exact = prices[model];
  if (exact) return exact;
  const prefix = Object.keys(prices)
    .filter((name) => model.startsWith(name))
    .sort((a, b) => b.length - a.length)[0];
  if (prefix) return prices[prefix] as ModelPrice;
  const all = Object.values(prices);
  const dearest = (kind: keyof ModelPrice) => Math.max(0, ...all.map((price) => price[kind]));
  return {
    input: dearest('input'),
    output: dearest('output'),
    cache_write: dearest('cache_write'),
    cache_read: dearest('cache_read'),
  };
}

/** What one answer (or a sum of them) cost, in USD. */
export function costOf(usage: TokenUsage, price: ModelPrice): number {
  return (
    (usage.input_tokens * price.input +
      usage.output_tokens * price.output +
      usage.cache_creation_input_tokens * price.cache_write +
      usage.cache_read_input_tokens * price.cache_read) /
    1_000_000
  );
}

/** Parses `MODEL_PRICES` (a JSON object of model → price) over the defaults. */
export const modelPricesEnv = z
  .string()
  .optional()
  .transform((text, ctx) => {
    if (text === undefined || text.trim() === '') return DEFAULT_MODEL_PRICES;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: 'is not JSON (a map of model name → {input, output, cache_write, cache_read} USD per MTok)',
      });
      return z.NEVER;
    }
    const parsed = ModelPrices.safeParse(json);
    if (!parsed.success) {
      ctx.addIssue({
        code: 'custom',
        message: `is not a map of model name → {input, output, cache_write, cache_read} USD per MTok: ${parsed.error.issues[0]?.message ?? ''}`,
      });
      return z.NEVER;
    }
    return { ...DEFAULT_MODEL_PRICES, ...parsed.data };
  });

/** A task's budget in USD. */
export const BudgetUsd = z.coerce.number().positive().finite();

/** What a proxy answers a model call once the task's budget is spent (HTTP 402, not retried by the SDKs). */
export const BUDGET_EXCEEDED = 'budget_exceeded';
export const BUDGET_EXCEEDED_STATUS = 402;
