import { BudgetUsd, Complexity } from '@anton/contracts';
import { z } from 'zod';

/** What a task may spend on model calls: TASK_BUDGET_USD scaled by the router's complexity. */
export interface BudgetConfig {
  usd: number;
  scale: Record<Complexity, number>;
}

export const DEFAULT_BUDGET_SCALE: Record<Complexity, number> = { low: 0.5, medium: 1, high: 2 };

/** `BUDGET_SCALE=low=0.5,medium=1,high=2`: any of the three, the others keep their default. */
export const budgetScaleEnv = z
  .string()
  .optional()
  .transform((text, ctx) => {
    const scale = { ...DEFAULT_BUDGET_SCALE };
    for (const part of (text ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [name, value] = part.split('=').map((s) => s.trim());
      const complexity = Complexity.safeParse(name);
      const factor = Number(value);
      if (!complexity.success || value === undefined || value === '' || !Number.isFinite(factor) || factor <= 0) {
        ctx.addIssue({ code: 'custom', message: `"${part}" is not <low|medium|high>=<positive factor>` });
        return z.NEVER;
      }
      scale[complexity.data] = factor;
    }
    return scale;
  });

export const budgetEnv = { TASK_BUDGET_USD: BudgetUsd.default(3), BUDGET_SCALE: budgetScaleEnv };

/** The task's budget in USD, rounded to the cent (never below one cent). */
export function taskBudgetUsd(config: BudgetConfig, complexity: Complexity): number {
  return Math.max(0.01, Math.round(config.usd * config.scale[complexity] * 100) / 100);
}

/** The defaults: $3, scaled 0.5×, 1×, 2×. */
export const DEFAULT_BUDGET: BudgetConfig = { usd: 3, scale: DEFAULT_BUDGET_SCALE };
