import type { Source, TaskOutcome, TokenUsage } from '@anton/contracts';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import type { ReportQueue } from '../reporters/report-queue.ts';
import type { Reporter } from '../reporters/reporter.ts';
import { allowsRetry } from './claim-policy.ts';
import type { FinishedTask } from './finished-task.ts';

export interface OutcomeReportingOptions {
  queue: ReportQueue;
  /** Publishes the outcome message (`task.completed`). */
  publish: (outcome: TaskOutcome) => Promise<void>;
  /** Attempts for the outcome message: it rides out a broker restart, so more than a reporter's. */
  publishAttempts: number;
  reporters: Record<Source, Reporter[]>;
  /** Gives up the incident's claim (`dedupHash`) if `taskId` still holds it. */
  releaseClaim: (dedupHash: string, taskId: string) => Promise<void>;
  metrics: Metrics;
  logger: Logger;
}

/** Task ids remembered to drop a second report of one task; a report comes minutes after its task. */
const REMEMBERED = 10_000;

const TOKEN_KINDS: Array<[keyof TokenUsage, string]> = [
  ['input_tokens', 'input'],
  ['output_tokens', 'output'],
  ['cache_read_input_tokens', 'cache_read'],
  ['cache_creation_input_tokens', 'cache_write'],
];

/**
 * Where every outcome goes, from the Job watcher and the local dispatcher alike: counted (outcome
 * and tokens, by source and template), the claim released when the outcome allows a retry, then
 * the `task.completed` message and the source's reporters queued. `report` never blocks and never
 * throws: the deliveries run in the report queue, off the consumer's path.
 */
export class OutcomeReporting {
  readonly #options: OutcomeReportingOptions;
  readonly #reported = new Set<string>();

  constructor(options: OutcomeReportingOptions) {
    this.#options = options;
  }

  report(finished: FinishedTask): void {
    const { outcome } = finished;
    const { queue, logger: root } = this.#options;
    const logger = root.child({ task_id: outcome.task_id });
    // The Kubernetes path reports once by its record on the Job; this covers the local runners.
    if (this.#reported.has(outcome.task_id)) {
      logger.debug('outcome already reported');
      return;
    }
    this.#remember(outcome.task_id);
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
    queue.enqueue({
      reporter: 'task_completed',
      taskId: outcome.task_id,
      what: 'task.completed message',
      maxAttempts: this.#options.publishAttempts,
      send: () => this.#options.publish(outcome),
    });
    for (const reporter of this.#options.reporters[outcome.source]) {
      for (const delivery of reporter.deliveries(finished)) queue.enqueue(delivery);
    }
  }

  #count(outcome: TaskOutcome): void {
    const { metrics } = this.#options;
    const template = outcome.template_id ?? 'unknown';
    metrics.outcomes.inc({ source: outcome.source, template, status: outcome.status });
    for (const role of ['coder', 'reviewer'] as const) {
      const usage = outcome.usage?.[role];
      if (!usage) continue;
      for (const [field, kind] of TOKEN_KINDS) {
        const tokens = usage[field];
        if (tokens > 0) metrics.llmTokens.inc({ source: outcome.source, template, model_role: role, kind }, tokens);
      }
    }
  }

  #remember(taskId: string): void {
    this.#reported.add(taskId);
    if (this.#reported.size > REMEMBERED) {
      const oldest = this.#reported.values().next().value;
      if (oldest !== undefined) this.#reported.delete(oldest);
    }
  }
}
