import {
  type AgentTask,
  DEAD_LETTER_EXCHANGE,
  DEAD_LETTER_ROUTING_KEY,
  EXCHANGE,
  HEADERS,
  ORCHESTRATOR_QUEUE,
  openTaskChannel,
  TASK_CREATED,
} from '@anton/contracts';
import amqp, {
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type RecoveringChannelModel,
} from 'amqplib';
import type { Logger } from 'pino';
import type { HandleContext, TaskDisposition } from './handle-task.ts';
import type { DeadLetterKind, Metrics } from './metrics.ts';
import { oneLine, parseTask, publish, readRetryCount } from './task-messages.ts';

export type TaskHandler = (task: AgentTask, context: HandleContext) => Promise<TaskDisposition>;

export interface ConsumerOptions {
  url: string;
  prefetch: number;
  maxRetries: number;
  handle: TaskHandler;
  logger: Logger;
  metrics: Metrics;
  /** Reconnect backoff (ms): first delay and cap. */
  reconnect?: { initialDelayMs: number; maxDelayMs: number };
}

/**
 * Consumes orchestrator_queue. A message is acked only once its fate is settled: its runner exists,
 * it was a duplicate, or its retry / dead letter was confirmed by the broker (published on a confirm
 * channel BEFORE the ack, so a crash in between duplicates a message at worst, never loses one).
 * Failures follow the original: `x-retry-count` + 1 < MAX_RETRIES → republish to agent_events /
 * task.created with the count raised; else → task.dlq. Unreadable messages go to the DLQ at once;
 * every dead letter carries its reason in a header. Reconnects by itself (amqplib's recovery), with
 * the channel set up again on each connection.
 */
export class TaskConsumer {
  readonly #options: ConsumerOptions;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #connection: RecoveringChannelModel | undefined;
  #channel: ConfirmChannel | undefined;
  #consumerTag: string | undefined;
  #stopping = false;

  constructor(options: ConsumerOptions) {
    this.#options = options;
  }

  /** Connected and consuming. */
  get ready(): boolean {
    return this.#channel !== undefined && this.#consumerTag !== undefined && !this.#stopping;
  }

  async start(): Promise<void> {
    const { logger, url, reconnect } = this.#options;
    const connection = await amqp.connect(url, {
      // amqplib leaves Nagle on: a small write (an ack, a confirm-channel publish) then waits for
      // the broker's delayed ACK of the previous segment, ~40 ms whenever traffic is light.
      noDelay: true,
      recovery: {
        initialDelay: reconnect?.initialDelayMs ?? 200,
        maxDelay: reconnect?.maxDelayMs ?? 30_000,
        initialMaxRetries: 5,
        waitForConnect: false,
        setup: (model: ChannelModel) => this.#setup(model),
      },
    });
    connection.on('disconnect', (err) => {
      this.#channel = undefined;
      this.#consumerTag = undefined;
      if (!this.#stopping) logger.warn({ err }, 'broker connection lost, reconnecting');
    });
    connection.on('connect', () => logger.info('consuming orchestrator_queue'));
    connection.on('reconnect-scheduled', ({ attempt, delay }) =>
      logger.info({ attempt, delay }, 'reconnect scheduled'),
    );
    connection.on('error', (err) => logger.warn({ err }, 'broker connection error'));
    this.#connection = connection;
    await connection.waitForConnect();
  }

  /** Stops consuming, lets in-flight tasks finish (a task waiting for a slot hands its message back), then closes. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    const channel = this.#channel;
    if (channel && this.#consumerTag) await channel.cancel(this.#consumerTag).catch(() => undefined);
    this.#abort.abort();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const settled = await Promise.race([Promise.allSettled(this.#inFlight).then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (settled === 'timeout') {
      this.#options.logger.warn(
        { in_flight: this.#inFlight.size },
        'in-flight tasks unfinished; the broker redelivers them',
      );
    }
    // Closing the channel first waits for the broker's close-ok, so every ack sent is processed.
    await this.#channel?.close().catch(() => undefined);
    await this.#connection?.close().catch(() => undefined);
  }

  async #setup(model: ChannelModel): Promise<void> {
    const channel = await openTaskChannel(model, {
      onError: (err) => this.#options.logger.warn({ err }, 'channel error'),
      onClose: (closed) => {
        if (this.#channel !== closed) return false;
        this.#channel = undefined;
        this.#consumerTag = undefined;
        return !this.#stopping;
      },
    });
    await channel.prefetch(this.#options.prefetch);
    this.#channel = channel;
    const { consumerTag } = await channel.consume(ORCHESTRATOR_QUEUE, (message) => {
      if (message) this.#track(this.#onMessage(channel, message));
    });
    this.#consumerTag = consumerTag;
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #onMessage(channel: ConfirmChannel, message: ConsumeMessage): Promise<void> {
    const { logger: root, metrics, maxRetries } = this.#options;
    const retryCount = readRetryCount(message);
    const parsed = parseTask(message);
    if (!parsed.ok) {
      metrics.consumed.inc({ source: 'unknown' });
      root.warn({ reason: parsed.reason, message_id: message.properties.messageId }, 'unreadable message');
      await this.#settle(channel, message, { kind: 'dead-letter', reason: parsed.reason, category: 'invalid_message' });
      return;
    }
    const task = parsed.task;
    const logger = root.child({ task_id: task.task_id });
    metrics.consumed.inc({ source: task.source });
    logger.info({ source: task.source, external_id: task.external_id, retry_count: retryCount }, 'task received');

    let disposition: TaskDisposition;
    try {
      disposition = await this.#options.handle(task, {
        logger,
        finalAttempt: retryCount + 1 >= maxRetries,
        signal: this.#abort.signal,
      });
    } catch (err) {
      disposition = { kind: 'retry', error: err as Error };
    }
    if (disposition.kind === 'retry' && retryCount + 1 >= maxRetries) {
      const reason = `gave up after ${retryCount + 1} attempts: ${disposition.error.message}`;
      logger.error({ err: disposition.error }, 'task failed for the last time');
      disposition = { kind: 'dead-letter', reason, category: 'retries_exhausted' };
    }
    await this.#settle(channel, message, disposition, logger);
  }

  async #settle(
    channel: ConfirmChannel,
    message: ConsumeMessage,
    disposition: TaskDisposition,
    logger = this.#options.logger,
  ): Promise<void> {
    const { metrics } = this.#options;
    try {
      switch (disposition.kind) {
        case 'dispatched':
        case 'duplicate':
          break;
        case 'requeue':
          logger.info({ reason: disposition.reason }, 'message handed back to the queue');
          return this.#nack(channel, message, true);
        case 'retry': {
          const next = readRetryCount(message) + 1;
          logger.warn({ err: disposition.error, retry_count: next }, 'task failed, republishing for another attempt');
          await publish(channel, EXCHANGE, TASK_CREATED, message, { [HEADERS.retryCount]: next });
          metrics.retried.inc();
          break;
        }
        case 'dead-letter':
          logger.error({ reason: disposition.reason, category: disposition.category }, 'task dead-lettered');
          await publish(channel, DEAD_LETTER_EXCHANGE, DEAD_LETTER_ROUTING_KEY, message, {
            [HEADERS.deadLetterReason]: oneLine(disposition.reason),
          });
          metrics.deadLettered.inc({ reason: disposition.category satisfies DeadLetterKind });
          break;
      }
      this.#ack(channel, message);
    } catch (err) {
      // The republish or dead letter was not confirmed: keep the message, try it again shortly.
      logger.error({ err }, 'could not settle the message; it stays in the queue');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      this.#nack(channel, message, true);
    }
  }

  // A delivery can only be acked on the channel it came on; after a reconnect the broker
  // redelivers it, and dispatching is idempotent, so a lost ack costs nothing.
  #ack(channel: ConfirmChannel, message: ConsumeMessage): void {
    if (this.#channel !== channel) return;
    try {
      channel.ack(message);
    } catch {
      // channel closed meanwhile: redelivered
    }
  }

  #nack(channel: ConfirmChannel, message: ConsumeMessage, requeue: boolean): void {
    if (this.#channel !== channel) return;
    try {
      channel.nack(message, false, requeue);
    } catch {
      // channel closed meanwhile: redelivered
    }
  }
}
