import {
  type AgentTask,
  DEAD_LETTER_EXCHANGE,
  DEAD_LETTER_ROUTING_KEY,
  EXCHANGE,
  ORCHESTRATOR_QUEUE,
  TASK_CREATED,
} from '@anton/contracts';
import type { Logger } from 'pino';
import type { HandleContext, TaskDisposition } from './handle-task.ts';
import type { DeadLetterKind, Metrics } from './metrics.ts';
import { QueueConsumer, type Settlement } from './queue-consumer.ts';
import type { RetrySteps } from './retry-steps.ts';
import { parseTask } from './task-messages.ts';

export type TaskHandler = (task: AgentTask, context: HandleContext) => Promise<TaskDisposition>;

export interface ConsumerOptions {
  url: string;
  prefetch: number;
  maxRetries: number;
  /** How long a failed task waits in the broker before each further attempt. */
  retrySteps: RetrySteps;
  handle: TaskHandler;
  logger: Logger;
  metrics: Metrics;
  /** Reconnect backoff (ms): first delay and cap. */
  reconnect?: { initialDelayMs: number; maxDelayMs: number };
  pulse?: { intervalMs: number; silenceMs: number };
}

/**
 * Consumes orchestrator_queue (a QueueConsumer). Failures follow the original's count:
 * `x-retry-count` + 1 < MAX_RETRIES → another attempt, after the retry queue of its step sends
 * it back to agent_events / task.created; else → task.dlq. Unreadable messages go to the DLQ at
 * once; every dead letter carries its reason in a header.
 */
export class TaskConsumer {
  readonly #consumer: QueueConsumer<AgentTask>;

  constructor(options: ConsumerOptions) {
    const { metrics, logger } = options;
    this.#consumer = new QueueConsumer<AgentTask>({
      what: 'task',
      url: options.url,
      prefetch: options.prefetch,
      logger,
      ...(options.reconnect && { reconnect: options.reconnect }),
      ...(options.pulse && { pulse: options.pulse }),
      route: {
        queue: ORCHESTRATOR_QUEUE,
        back: { exchange: EXCHANGE, routingKey: TASK_CREATED },
        retrySteps: options.retrySteps,
        maxAttempts: options.maxRetries,
        deadLetter: { exchange: DEAD_LETTER_EXCHANGE, routingKey: DEAD_LETTER_ROUTING_KEY },
      },
      parse: (message) => {
        const parsed = parseTask(message);
        if (!parsed.ok) {
          metrics.consumed.inc({ source: 'unknown' });
          return parsed;
        }
        const { task } = parsed;
        metrics.consumed.inc({ source: task.source });
        const child = logger.child({ task_id: task.task_id });
        return { ok: true, value: task, logger: child };
      },
      handle: async (task, context) => {
        context.logger.info(
          { source: task.source, external_id: task.external_id, retry_count: context.retryCount },
          'task received',
        );
        return settlementOf(
          await options.handle(task, {
            logger: context.logger,
            finalAttempt: context.finalAttempt,
            signal: context.signal,
          }),
        );
      },
      settled: (settlement) => {
        if (settlement.kind === 'retry') metrics.retried.inc();
        if (settlement.kind === 'dead-letter') {
          metrics.deadLettered.inc({ reason: settlement.category as DeadLetterKind });
        }
      },
    });
  }

  /** Connected, consuming, and the broker answers. */
  get ready(): boolean {
    return this.#consumer.ready;
  }

  /** Resolves once consuming; waits for the broker as long as it is away. */
  start(): Promise<void> {
    return this.#consumer.start();
  }

  /** Stops consuming, lets in-flight tasks finish (a task waiting for a slot hands its message back), then closes. */
  stop(timeoutMs: number): Promise<void> {
    return this.#consumer.stop(timeoutMs);
  }
}

function settlementOf(disposition: TaskDisposition): Settlement {
  switch (disposition.kind) {
    case 'dispatched':
    case 'duplicate':
      return { kind: 'ack' };
    default:
      return disposition;
  }
}
