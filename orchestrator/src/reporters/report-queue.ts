import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';

/** A report that did not go through: `retryable` when another attempt may (5xx, 429, no answer). */
export class ReportError extends Error {
  override name = 'ReportError';
  readonly retryable: boolean;
  readonly status: number | undefined;
  /** How long the service asked to wait (Retry-After), if it did. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: { retryable: boolean; status?: number; retryAfterMs?: number | undefined; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** How a delivery ended: sent, failed for good (logged and counted), or abandoned by a shutdown. */
export type DeliveryResult = 'sent' | 'failed' | 'abandoned';

/** One thing to deliver about one task's outcome: a comment, an event, a message. */
export interface Delivery {
  /** Who delivers it (the metric's `reporter` label): jira, datadog, task_completed. */
  reporter: string;
  taskId: string;
  /** What it is, for the logs: "comment on ORD-42". */
  what: string;
  /** Sends it once; throws (a ReportError says whether to try again). Aborted at the attempt's timeout. */
  send(signal: AbortSignal): Promise<void>;
  /** Overrides the queue's attempt budget. */
  maxAttempts?: number;
}

export interface ReportQueueOptions {
  maxAttempts: number;
  /** First retry delay; doubled per attempt, with jitter, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per attempt. */
  timeoutMs: number;
  logger: Logger;
  metrics: Pick<Metrics, 'reports'>;
}

/**
 * Deliveries off the consumer's path: `enqueue` returns at once, and each delivery is attempted
 * in the background, retried with exponential backoff and jitter (or after the service's
 * Retry-After, capped) for a bounded number of attempts. A delivery that finally fails, or that a
 * shutdown leaves undelivered, is logged at error level with its task_id and counted in
 * `anton_reports_total{outcome="failed"|"abandoned"}`: never lost silently.
 */
export class ReportQueue {
  readonly #options: ReportQueueOptions;
  readonly #running = new Set<Promise<DeliveryResult>>();
  readonly #abort = new AbortController();

  constructor(options: ReportQueueOptions) {
    this.#options = options;
  }

  get pending(): number {
    return this.#running.size;
  }

  /** Starts the delivery; the promise (never rejected) tells how it ended, for a caller that keeps track. */
  enqueue(delivery: Delivery): Promise<DeliveryResult> {
    if (this.#abort.signal.aborted) {
      return Promise.resolve(this.#settle(delivery, 'abandoned', 0, new Error('the orchestrator is stopping')));
    }
    const run = this.#deliver(delivery);
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
    return run;
  }

  /** Waits for what is pending, up to `timeoutMs`; then abandons the rest (each logged and counted). */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled([...this.#running]), deadline]);
    clearTimeout(timer);
    this.#abort.abort();
    await Promise.allSettled([...this.#running]);
  }

  async #deliver(delivery: Delivery): Promise<DeliveryResult> {
    const { logger, timeoutMs } = this.#options;
    const maxAttempts = delivery.maxAttempts ?? this.#options.maxAttempts;
    const log = logger.child({ task_id: delivery.taskId, reporter: delivery.reporter });
    for (let attempt = 1; ; attempt += 1) {
      try {
        await delivery.send(AbortSignal.any([this.#abort.signal, AbortSignal.timeout(timeoutMs)]));
        return this.#settle(delivery, 'sent', attempt);
      } catch (err) {
        if (this.#abort.signal.aborted) return this.#settle(delivery, 'abandoned', attempt, err);
        const retryable = !(err instanceof ReportError) || err.retryable;
        if (!retryable || attempt >= maxAttempts) return this.#settle(delivery, 'failed', attempt, err);
        const delay = this.#delay(attempt, err);
        log.warn({ err, what: delivery.what, attempt, delay_ms: delay }, 'report failed, retrying');
        try {
          await sleep(delay, undefined, { signal: this.#abort.signal });
        } catch {
          return this.#settle(delivery, 'abandoned', attempt, err);
        }
      }
    }
  }

  #delay(attempt: number, err: unknown): number {
    const { baseDelayMs, maxDelayMs } = this.#options;
    const asked = err instanceof ReportError ? err.retryAfterMs : undefined;
    // Jitter (half to all of the backoff), so replicas retrying one service do not beat in step.
    const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() * 0.5);
    return Math.round(Math.min(maxDelayMs, asked ?? backoff));
  }

  #settle(delivery: Delivery, outcome: DeliveryResult, attempts: number, err?: unknown): DeliveryResult {
    const { logger, metrics } = this.#options;
    metrics.reports.inc({ reporter: delivery.reporter, outcome });
    const fields = { task_id: delivery.taskId, reporter: delivery.reporter, what: delivery.what, attempts };
    if (outcome === 'sent') logger.info(fields, 'report delivered');
    else if (outcome === 'failed') logger.error({ ...fields, err }, 'report failed for good');
    else logger.error({ ...fields, err }, 'report abandoned: the orchestrator stopped before it was delivered');
    return outcome;
  }
}
