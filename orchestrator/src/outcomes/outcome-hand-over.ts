import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskOutcome, TokenUsage } from '@anton/contracts';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import { allowsRetry } from './claim-policy.ts';
import type { FinishedTask } from './finished-task.ts';
import type { OutcomeSink } from './job-outcome-watcher.ts';

export interface OutcomeHandOverOptions {
  /** Publishes the outcome message (`task.completed`), resolving once the broker confirmed it. */
  publish: (outcome: TaskOutcome) => Promise<void>;
  /** Gives up the incident's claim (`dedupHash`) if `taskId` still holds it. */
  releaseClaim: (dedupHash: string, taskId: string) => Promise<void>;
  metrics: Metrics;
  logger: Logger;
  /** Local runs only (no Job holds their outcome): attempts of the publish, and the wait between them. */
  localAttempts: number;
  localRetryDelayMs: number;
}

const TOKEN_KINDS: Array<[keyof TokenUsage, string]> = [
  ['input_tokens', 'input'],
  ['output_tokens', 'output'],
  ['cache_read_input_tokens', 'cache_read'],
  ['cache_creation_input_tokens', 'cache_write'],
];

/**
 * Where every outcome goes, from the Job watcher and the local dispatcher alike: published on
 * `task.completed` (the reporters' queues take it from there), then, once recorded, counted
 * (outcome and tokens, by source and template) and the claim released when the outcome allows a
 * retry.
 */
export class OutcomeHandOver implements OutcomeSink {
  readonly #options: OutcomeHandOverOptions;

  constructor(options: OutcomeHandOverOptions) {
    this.#options = options;
  }

  publish(finished: FinishedTask): Promise<void> {
    return this.#options.publish(finished.outcome);
  }

  recorded(finished: FinishedTask): void {
    const { outcome } = finished;
    const logger = this.#options.logger.child({ task_id: outcome.task_id });
    this.#count(outcome);
    logger.info(
      { source: outcome.source, status: outcome.status, pr_url: outcome.pr_url, reason: outcome.reason },
      'task finished',
    );
    if (allowsRetry(outcome.status) && finished.dedupHash !== undefined) {
      this.#options.releaseClaim(finished.dedupHash, outcome.task_id).catch((err) => {
        logger.warn({ err }, 'could not release the claim; it lapses at the end of the dedup window');
      });
    }
  }

  /**
   * A local run's outcome: nothing outside this process holds it, so the publish is tried until
   * the broker confirms it (a bounded number of times, then logged at error level), then recorded.
   */
  async local(finished: FinishedTask): Promise<void> {
    const { localAttempts, localRetryDelayMs, logger } = this.#options;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.publish(finished);
        break;
      } catch (err) {
        if (attempt >= localAttempts) {
          logger.error({ err, task_id: finished.outcome.task_id }, 'the outcome could not be published: not reported');
          break;
        }
        await sleep(localRetryDelayMs);
      }
    }
    this.recorded(finished);
  }

  #count(outcome: TaskOutcome): void {
    const { metrics } = this.#options;
    const template = outcome.template_id ?? 'unknown';
    metrics.outcomes.inc({ source: outcome.source, template, status: outcome.status });
    if (outcome.cost_usd) metrics.llmCost.inc({ source: outcome.source, template }, outcome.cost_usd);
    for (const role of ['coder', 'reviewer'] as const) {
      const usage = outcome.usage?.[role];
      if (!usage) continue;
      for (const [field, kind] of TOKEN_KINDS) {
        const tokens = usage[field];
        if (tokens > 0) metrics.llmTokens.inc({ source: outcome.source, template, model_role: role, kind }, tokens);
      }
    }
  }
}
