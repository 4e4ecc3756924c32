import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { KubernetesError } from './kubernetes-api.ts';

export interface RetryPolicy {
  /** Further attempts after the first. */
  retries: number;
  baseDelayMs: number;
  /** No wait is longer, whatever retry-after asks: the message is better retried through the queue. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 3, baseDelayMs: 250, maxDelayMs: 10_000 };

/**
 * Runs a Kubernetes call, retrying what the API says is worth retrying (no answer, 429, 5xx) with
 * exponential backoff and jitter, or after the server's Retry-After when it gives one. Other
 * errors, and the last retryable one, are thrown to the caller.
 */
export async function withRetry<T>(
  what: string,
  operation: () => Promise<T>,
  { policy, logger }: { policy: RetryPolicy; logger: Logger },
): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await operation();
    } catch (err) {
      if (!(err instanceof KubernetesError) || !err.retryable || attempt >= policy.retries) throw err;
      const backoff = policy.baseDelayMs * 2 ** attempt * (0.75 + Math.random() * 0.5);
      const delay = Math.min(err.retryAfterMs ?? backoff, policy.maxDelayMs);
      logger.warn(
        { err, status: err.status, attempt: attempt + 1, delay_ms: Math.round(delay) },
        `${what} failed, retrying`,
      );
      await sleep(delay);
    }
  }
}
