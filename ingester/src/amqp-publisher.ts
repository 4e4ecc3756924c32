import {
  type AgentTask,
  BrokerPulse,
  CONTENT_TYPE_JSON,
  EXCHANGE,
  HEADERS,
  ORCHESTRATOR_QUEUE,
  openTaskChannel,
  TASK_CREATED,
} from '@anton/contracts';
import amqp, { type ChannelModel, type ConfirmChannel, type RecoveringChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { batchFrameWrites } from './amqp-write-batching.ts';
import { PublishError, type TaskPublisher } from './publisher.ts';

export interface AmqpPublisherOptions {
  url: string;
  /** How long to wait for the broker's confirm before answering 503. */
  confirmTimeoutMs: number;
  logger: Logger;
  /** Reconnect backoff (amqplib's recovery: exponential, with jitter). */
  reconnect?: { initialDelayMs: number; maxDelayMs: number };
  /** How often the broker is asked whether it answers, and how long a silence makes the publisher unready. */
  pulse?: { intervalMs: number; silenceMs: number };
}

/**
 * Publishes tasks on a confirm channel and reconnects by itself. While disconnected it fails at
 * once instead of queueing in memory: the webhook sender then gets a 503 and retries, so nothing is
 * acknowledged that the broker does not hold. It declares the task topology itself, so a confirmed
 * task sits in the durable `orchestrator_queue` even before any orchestrator has started; messages
 * are `mandatory` all the same, so a task no queue would receive (someone deleted the binding) is
 * a failure, not a silent drop.
 */
export class AmqpPublisher implements TaskPublisher {
  readonly #options: AmqpPublisherOptions;
  #connection: RecoveringChannelModel | undefined;
  #channel: ConfirmChannel | undefined;
  #blocked = false;
  #closing = false;
  readonly #returned = new Set<string>();
  readonly #inFlight = new Set<Promise<void>>();
  /** A hung broker keeps the socket open: ready only while it answers (a confirm, a probe). */
  readonly #pulse: BrokerPulse;

  private constructor(options: AmqpPublisherOptions) {
    this.#options = options;
    this.#pulse = new BrokerPulse(options.pulse ?? { intervalMs: 2000, silenceMs: 6000 });
  }

  /** Starts connecting and returns at once; `ready` turns true when the channel is open. */
  static async start(options: AmqpPublisherOptions): Promise<AmqpPublisher> {
    const publisher = new AmqpPublisher(options);
    const { initialDelayMs = 100, maxDelayMs = 5000 } = options.reconnect ?? {};
    const connection = await amqp.connect(options.url, {
      // amqplib leaves Nagle on: a publish then waits for the broker's delayed ACK of the previous
      // segment, ~40 ms per webhook whenever traffic is light (pnpm bench, figure 1 at 1 connection).
      noDelay: true,
      recovery: {
        waitForConnect: false,
        initialDelay: initialDelayMs,
        maxDelay: maxDelayMs,
        setup: (model: ChannelModel) => {
          // One writev per turn for the frames of all publishes queued in it (see amqp-write-batching.ts).
          batchFrameWrites(model);
          return publisher.#openChannel(model);
        },
      },
    });
    publisher.#watch(connection);
    publisher.#connection = connection;
    return publisher;
  }

  get ready(): boolean {
    return this.#channel !== undefined && !this.#blocked && !this.#closing && this.#pulse.answering;
  }

  async #openChannel(model: ChannelModel): Promise<void> {
    const channel = await openTaskChannel(model, {
      onError: (err) => this.#options.logger.warn({ err }, 'RabbitMQ channel error'),
      onClose: (closed) => {
        if (this.#channel !== closed) return false;
        this.#channel = undefined;
        this.#pulse.stop();
        return !this.#closing;
      },
    });
    channel.on('return', (message) => {
      if (message.properties.messageId) this.#returned.add(String(message.properties.messageId));
    });
    this.#channel = channel;
    this.#pulse.start(() => channel.checkQueue(ORCHESTRATOR_QUEUE));
  }

  #watch(connection: RecoveringChannelModel): void {
    const log = this.#options.logger;
    connection.on('connect', () => log.info('connected to RabbitMQ'));
    connection.on('disconnect', (err) => {
      this.#channel = undefined;
      this.#pulse.stop();
      log.warn({ err }, 'lost the RabbitMQ connection; reconnecting');
    });
    connection.on('connect-failed', (err) => log.warn({ err }, 'could not connect to RabbitMQ'));
    connection.on('reconnect-scheduled', ({ attempt, delay }) => log.debug({ attempt, delay }, 'reconnect scheduled'));
    connection.on('error', (err) => log.warn({ err }, 'RabbitMQ connection error'));
    connection.on('blocked', (reason) => {
      this.#blocked = true;
      log.warn({ reason }, 'RabbitMQ blocked publishing');
    });
    connection.on('unblocked', () => {
      this.#blocked = false;
      log.info('RabbitMQ unblocked publishing');
    });
  }

  publish(task: AgentTask): Promise<void> {
    const channel = this.#channel;
    if (this.#closing) return Promise.reject(new PublishError('the publisher is shutting down'));
    if (!channel || this.#blocked) return Promise.reject(new PublishError('RabbitMQ is not available'));
    const confirmed = new Promise<void>((resolve, reject) => {
      const timeoutMs = this.#options.confirmTimeoutMs;
      const timer = setTimeout(
        () => reject(new PublishError(`RabbitMQ did not confirm within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const options = {
        persistent: true,
        mandatory: true,
        contentType: CONTENT_TYPE_JSON,
        messageId: task.task_id,
        timestamp: Math.floor(Date.now() / 1000),
        headers: { [HEADERS.source]: task.source },
      };
      try {
        channel.publish(EXCHANGE, TASK_CREATED, Buffer.from(JSON.stringify(task)), options, (err) => {
          clearTimeout(timer);
          this.#pulse.heard();
          // The broker sends basic.return before the confirm of an unroutable mandatory message.
          const unroutable = this.#returned.delete(task.task_id);
          if (err) reject(new PublishError('RabbitMQ did not take the task', { cause: err }));
          else if (unroutable) reject(new PublishError(`no queue is bound to ${EXCHANGE} for ${TASK_CREATED}`));
          else resolve();
        });
      } catch (err) {
        clearTimeout(timer);
        reject(new PublishError('could not publish to RabbitMQ', { cause: err }));
      }
    });
    this.#inFlight.add(confirmed);
    const forget = () => this.#inFlight.delete(confirmed);
    confirmed.then(forget, forget);
    return confirmed;
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#pulse.stop();
    await Promise.allSettled([...this.#inFlight]);
    await this.#connection?.close();
  }
}
