import {
  CONTENT_TYPE_JSON,
  EXCHANGE,
  HEADERS,
  openTaskChannel,
  TASK_COMPLETED,
  type TaskOutcome,
} from '@anton/contracts';
import amqp, { type ChannelModel, type ConfirmChannel, type RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { ReportError } from '../reporters/report-error.ts';

export interface OutcomePublisherOptions {
  url: string;
  logger: Logger;
  /** How long to wait for the broker's confirm. */
  confirmTimeoutMs?: number;
  /** Reconnect backoff (amqplib's recovery). */
  reconnect?: { initialDelayMs: number; maxDelayMs: number };
  /**
   * Declares the queues that must exist before an outcome is published (the reporters'): a
   * message no queue is bound to would be dropped by the exchange.
   */
  declare?: (channel: ConfirmChannel) => Promise<void>;
}

/**
 * Publishes each outcome to `agent_events` with routing key `task.completed`: persistent, JSON,
 * `message_id` = task_id (so subscribers can drop a duplicate), confirmed by the broker. It has
 * its own connection, apart from the consumer's, so the broker's flow control on publishers never
 * stalls consuming; while that connection is down a publish fails with a retryable ReportError and
 * the Job watcher tries again later.
 */
export class OutcomePublisher {
  readonly #options: OutcomePublisherOptions;
  #connection: RecoveringChannelModel | undefined;
  #channel: ConfirmChannel | undefined;
  #closing = false;

  private constructor(options: OutcomePublisherOptions) {
    this.#options = options;
  }

  /** Starts connecting and returns at once. */
  static async start(options: OutcomePublisherOptions): Promise<OutcomePublisher> {
    const publisher = new OutcomePublisher(options);
    const { logger } = options;
    const connection = await amqp.connect(options.url, {
      // amqplib leaves Nagle on: a small write (an ack, a confirm-channel publish) then waits for
      // the broker's delayed ACK of the previous segment, ~40 ms whenever traffic is light.
      noDelay: true,
      recovery: {
        waitForConnect: false,
        initialDelay: options.reconnect?.initialDelayMs ?? 200,
        maxDelay: options.reconnect?.maxDelayMs ?? 5000,
        setup: (model: ChannelModel) => publisher.#openChannel(model),
      },
    });
    connection.on('disconnect', (err) => {
      publisher.#channel = undefined;
      if (!publisher.#closing) logger.warn({ err }, 'outcome publisher lost the broker, reconnecting');
    });
    connection.on('error', (err) => logger.warn({ err }, 'outcome publisher connection error'));
    publisher.#connection = connection;
    return publisher;
  }

  get ready(): boolean {
    return this.#channel !== undefined && !this.#closing;
  }

  async publish(outcome: TaskOutcome): Promise<void> {
    const channel = this.#channel;
    if (!channel || this.#closing) throw new ReportError('the broker is not connected', { retryable: true });
    const timeoutMs = this.#options.confirmTimeoutMs ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ReportError(`the broker did not confirm within ${timeoutMs} ms`, { retryable: true })),
        timeoutMs,
      );
      const options = {
        persistent: true,
        contentType: CONTENT_TYPE_JSON,
        messageId: outcome.task_id,
        timestamp: Math.floor(Date.now() / 1000),
        headers: { [HEADERS.source]: outcome.source },
      };
      try {
        channel.publish(EXCHANGE, TASK_COMPLETED, Buffer.from(JSON.stringify(outcome)), options, (err) => {
          clearTimeout(timer);
          if (err) reject(new ReportError('the broker refused the outcome', { retryable: true, cause: err }));
          else resolve();
        });
      } catch (err) {
        clearTimeout(timer);
        reject(new ReportError('could not publish the outcome', { retryable: true, cause: err }));
      }
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#connection?.close().catch(() => undefined);
  }

  async #openChannel(model: ChannelModel): Promise<void> {
    const channel = await openTaskChannel(model, {
      onError: (err) => this.#options.logger.warn({ err }, 'outcome publisher channel error'),
      onClose: (closed) => {
        if (this.#channel !== closed) return false;
        this.#channel = undefined;
        return !this.#closing;
      },
    });
    await this.#options.declare?.(channel);
    this.#channel = channel;
  }
}
