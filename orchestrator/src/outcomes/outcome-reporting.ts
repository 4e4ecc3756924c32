import type { Source, TaskOutcome, TokenUsage } from '@anton/contracts';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import type { Delivery, DeliveryResult, ReportQueue } from '../reporters/report-queue.ts';
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

/** The `reporter` of the task.completed message, beside the sources' reporters. */
const TASK_COMPLETED_REPORTER = 'task_completed';

/**
 * Where every outcome goes, from the Job watcher and the local dispatcher alike: counted (outcome
 * and tokens, by source and template), the claim released when the outcome allows a retry, then
 * the `task.completed` message and the source's reporters queued. The deliveries run in the report
 * queue, off the consumer's path; `report` never throws, and what it returns tells the Job watcher
 * which reporters a shutdown left owed, to be written on the Job for the next orchestrator.
 */
export class OutcomeReporting {
  readonly #options: OutcomeReportingOptions;
  readonly #reported = new Set<string>();

  constructor(options: OutcomeReportingOptions) {
    this.#options = options;
  }

  /** The reporters this outcome is owed to: the task.completed message, then its source's. */
  owed(finished: FinishedTask): string[] {
    return [...new Set(this.#deliveries(finished).map((delivery) => delivery.reporter))];
  }

  /**
   * Reports the outcome, or with `only`, what an earlier orchestrator left owed (counted then, not
   * again). `onDone` hears of each reporter whose deliveries have all ended (sent, or failed for
   * good: logged and counted, and no longer owed). Resolves, never rejects, once every delivery has
   * ended, with the reporters a shutdown left undelivered.
   */
  async report(
    finished: FinishedTask,
    only?: ReadonlySet<string>,
    onDone?: (reporter: string) => void,
  ): Promise<string[]> {
    const { outcome } = finished;
    const { queue, logger: root } = this.#options;
    const logger = root.child({ task_id: outcome.task_id });
    // The Kubernetes path reports once by its record on the Job; this covers the local runners.
    if (this.#reported.has(outcome.task_id)) {
      logger.debug('outcome already reported');
      return [];
    }
    this.#remember(outcome.task_id);
    if (only === undefined) {
      this.#count(outcome);
      logger.info(
        { source: outcome.source, status: outcome.status, pr_url: outcome.pr_url, reason: outcome.reason },
        'task finished',
      );
    } else {
      logger.info({ status: outcome.status, reporters: [...only] }, 'delivering reports another orchestrator left');
    }

    if (allowsRetry(outcome.status) && finished.dedupHash !== undefined) {
      this.#options.releaseClaim(finished.dedupHash, outcome.task_id).catch((err) => {
        logger.warn({ err }, 'could not release the claim; it lapses at the end of the dedup window');
      });
    }
    const ends = new Map<string, Promise<DeliveryResult>[]>();
    for (const delivery of this.#deliveries(finished)) {
      if (only && !only.has(delivery.reporter)) continue;
      ends.set(delivery.reporter, [...(ends.get(delivery.reporter) ?? []), queue.enqueue(delivery)]);
    }
    const left = await Promise.all(
      [...ends].map(async ([reporter, results]) => {
        if ((await Promise.all(results)).includes('abandoned')) return [reporter];
        onDone?.(reporter);
        return [];
      }),
    );
    return left.flat();
  }

  #deliveries(finished: FinishedTask): Delivery[] {
    const { outcome } = finished;
    const completed: Delivery = {
      reporter: TASK_COMPLETED_REPORTER,
      taskId: outcome.task_id,
      what: 'task.completed message',
      maxAttempts: this.#options.publishAttempts,
      send: () => this.#options.publish(outcome),
    };
    return [completed, ...this.#options.reporters[outcome.source].flatMap((reporter) => reporter.deliveries(finished))];
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

  #remember(taskId: string): void {
    this.#reported.add(taskId);
    if (this.#reported.size > REMEMBERED) {
      const oldest = this.#reported.values().next().value;
      if (oldest !== undefined) this.#reported.delete(oldest);
    }
  }
}
