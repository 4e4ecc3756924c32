import { z } from 'zod';

/**
 * How long a failed message waits in the broker before its next attempt: one delay per step, the
 * n-th retry waiting the n-th step (the last step for every retry past it). Each step is a retry
 * queue of its own whose per-queue TTL is that delay, so a message waits there and is then
 * dead-lettered back to where it came from; nothing waits in the orchestrator's memory.
 */
export type RetrySteps = readonly number[];

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `10s,1m,5m` (units ms, s, m, h) as ascending delays in ms. */
export const RetryStepsText = z
  .string()
  .default('10s,1m,5m')
  .transform((text, ctx) => {
    const steps: number[] = [];
    for (const part of text.split(',').map((p) => p.trim())) {
      const match = /^(\d+)(ms|s|m|h)$/.exec(part);
      const ms = match ? Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1000) : Number.NaN;
      if (!(ms >= 1)) {
        ctx.addIssue({ code: 'custom', message: `"${part}" is not a delay such as 500ms, 10s, 1m or 2h` });
        return z.NEVER;
      }
      steps.push(ms);
    }
    if (steps.some((ms, i) => i > 0 && ms <= (steps[i - 1] ?? 0))) {
      ctx.addIssue({ code: 'custom', message: 'the delays must grow from step to step' });
      return z.NEVER;
    }
    return steps as RetrySteps;
  });

/**
 * The delay before retry number `retry` (1 for the first): its step, or the first step that waits
 * at least as long as the dependency asked (`Retry-After`), or the longest step when none does.
 */
export function retryDelay(steps: RetrySteps, retry: number, retryAfterMs?: number): number {
  const own = steps[Math.min(Math.max(retry, 1), steps.length) - 1] ?? 0;
  if (retryAfterMs === undefined || retryAfterMs <= own) return own;
  return steps.find((ms) => ms >= retryAfterMs) ?? steps.at(-1) ?? own;
}

/** The retry queue of `queue` for one delay: named by the delay, since a queue's TTL cannot change. */
export const retryQueueName = (queue: string, delayMs: number): string => `${queue}.retry.${delayMs}ms`;

/** How long a dependency asked to wait: the first `retryAfterMs` on the error or its causes. */
export function retryAfterOf(err: unknown): number | undefined {
  for (let current = err, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const asked = (current as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof asked === 'number' && Number.isFinite(asked)) return asked;
    current = current.cause;
  }
  return undefined;
}
