import {
  DEAD_LETTER_EXCHANGE,
  EXCHANGE,
  formatIssues,
  type Source,
  TASK_COMPLETED,
  TaskOutcome,
} from '@anton/contracts';
import type { ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import { type FinishedTask, finishedFromOutcome } from '../outcomes/finished-task.ts';
import { declareRoute, QueueConsumer, type QueueRoute, type Settlement } from '../queue-consumer.ts';
import type { RetrySteps } from '../retry-steps.ts';
import { ReportError } from './report-error.ts';
import type { Reporter } from './reporter.ts';

/** How many of an outcome's deliveries (comment, label, transition) earlier attempts made. */
const DELIVERIES_DONE = 'x-anton-deliveries-done';
/** First deliveries remembered to drop a second publish of one outcome (two orchestrators deciding one Job). */
const REMEMBERED = 10_000;

export interface ReportSettings {
  retrySteps: RetrySteps;
  maxAttempts: number;
  /** Per delivery attempt. */
  timeoutMs: number;
}

/**
 * A reporter's durable queue, bound to `agent_events` / `task.completed`: every outcome reaches it
 * whether or not an orchestrator is consuming. One consumer at a time (single active consumer, the
 * others standing by), so that one can drop the second publish of an outcome. Its retry queues
 * send a message back to it alone (the default exchange), not to every reporter; its dead letters
 * go to `anton.reports.<name>.dlq`.
 */
export function reportRoute(name: string, settings: Pick<ReportSettings, 'retrySteps' | 'maxAttempts'>): QueueRoute {
  const queue = `anton.reports.${name}`;
  return {
    queue,
    queueArguments: { 'x-single-active-consumer': true },
    back: { exchange: '', routingKey: queue },
    retrySteps: settings.retrySteps,
    maxAttempts: settings.maxAttempts,
    deadLetter: { exchange: DEAD_LETTER_EXCHANGE, routingKey: `${queue}.dlq` },
  };
}

/** The reporter's queue, bound to task.completed, its retry queues and its dead-letter queue. */
export async function declareReportTopology(channel: ConfirmChannel, route: QueueRoute): Promise<void> {
  await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
  await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
  await declareRoute(channel, route);
  await channel.bindQueue(route.queue, EXCHANGE, TASK_COMPLETED);
  await channel.assertQueue(route.deadLetter.routingKey, { durable: true });
  await channel.bindQueue(route.deadLetter.routingKey, DEAD_LETTER_EXCHANGE, route.deadLetter.routingKey);
}

export interface ReportConsumerOptions {
  url: string;
  reporter: Reporter;
  /** The sources whose outcomes this reporter tells; others are acked and left alone. */
  sources: ReadonlySet<Source>;
  settings: ReportSettings;
  logger: Logger;
  metrics: Pick<Metrics, 'reports'>;
  reconnect?: { initialDelayMs: number; maxDelayMs: number };
}

/**
 * Delivers one reporter's reports from its queue (the QueueConsumer the tasks use too): acked once
 * delivered; a retryable failure waits in a retry queue (a Retry-After sets at least that wait)
 * and the next attempt starts at the delivery that failed; a permanent failure, or the last
 * attempt's, is dead-lettered with the reason, logged and counted.
 */
export function reportConsumer(options: ReportConsumerOptions): QueueConsumer<FinishedTask> {
  const { reporter, sources, settings, metrics } = options;
  const route = reportRoute(reporter.name, settings);
  const logger = options.logger.child({ reporter: reporter.name });
  const seen = new Set<string>();
  const remember = (taskId: string) => {
    seen.add(taskId);
    if (seen.size > REMEMBERED) seen.delete(seen.values().next().value ?? taskId);
  };

  return new QueueConsumer<FinishedTask>({
    what: 'report',
    url: options.url,
    prefetch: 1,
    logger,
    ...(options.reconnect && { reconnect: options.reconnect }),
    route,
    declare: (channel) => declareReportTopology(channel, route),
    parse: (message) => {
      let json: unknown;
      try {
        json = JSON.parse(message.content.toString('utf8'));
      } catch (err) {
        return { ok: false, reason: `not JSON: ${(err as Error).message}` };
      }
      const parsed = TaskOutcome.safeParse(json);
      if (!parsed.success) return { ok: false, reason: `not a TaskOutcome: ${formatIssues(parsed.error)}` };
      return {
        ok: true,
        value: finishedFromOutcome(parsed.data),
        logger: logger.child({ task_id: parsed.data.task_id }),
      };
    },
    handle: async (finished, context): Promise<Settlement> => {
      const { outcome } = finished;
      if (!sources.has(outcome.source)) return { kind: 'ack' };
      const { message, retryCount } = context;
      if (retryCount === 0 && !message.fields.redelivered) {
        if (seen.has(outcome.task_id)) {
          context.logger.info('outcome published twice (two orchestrators decided it): reported once');
          return { kind: 'ack' };
        }
        remember(outcome.task_id);
      }
      const done = Number(message.properties.headers?.[DELIVERIES_DONE] ?? 0) || 0;
      const deliveries = reporter.deliveries(finished);
      for (let index = done; index < deliveries.length; index += 1) {
        const delivery = deliveries[index];
        if (!delivery) continue;
        const fields = { what: delivery.what, attempts: retryCount + 1 };
        try {
          await delivery.send(AbortSignal.any([context.signal, AbortSignal.timeout(settings.timeoutMs)]));
          metrics.reports.inc({ reporter: reporter.name, outcome: 'sent' });
          context.logger.info(fields, 'report delivered');
        } catch (err) {
          const error = err instanceof Error ? err : new Error(String(err));
          if (context.signal.aborted) return { kind: 'requeue', reason: 'shutting down' };
          const retryable = !(error instanceof ReportError) || error.retryable;
          if (!retryable || context.finalAttempt) {
            metrics.reports.inc({ reporter: reporter.name, outcome: 'failed' });
            context.logger.error({ ...fields, err: error }, 'report failed for good');
            if (!retryable) {
              return { kind: 'dead-letter', reason: `${delivery.what}: ${error.message}`, category: 'report_failed' };
            }
          } else {
            metrics.reports.inc({ reporter: reporter.name, outcome: 'retried' });
            context.logger.warn({ ...fields, err: error }, 'report failed, retrying later');
          }
          return {
            kind: 'retry',
            error: new Error(`${delivery.what}: ${error.message}`, { cause: error }),
            headers: { [DELIVERIES_DONE]: index },
          };
        }
      }
      return { kind: 'ack' };
    },
  });
}
