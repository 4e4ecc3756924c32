import { BrokerPulse, HEADERS, openTaskChannel } from '@anton/contracts';
import amqp, {
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type Options,
  type RecoveringChannelModel,
} from 'amqplib';
import type { Logger } from 'pino';
import { type RetrySteps, retryAfterOf, retryDelay, retryQueueName } from './retry-steps.ts';
import { deadLetterId, oneLine, publish, readRetryCount } from './task-messages.ts';

/** What became of one message: the consumer acks, retries later, dead-letters or hands it back by it. */
export type Settlement =
  | { kind: 'ack' }
  /** `headers`: what the next attempt should know (how far this one got). */
  | { kind: 'retry'; error: Error; headers?: Record<string, unknown> }
  | { kind: 'dead-letter'; reason: string; category: string }
  /** Not handled and not failed (shutting down, held too long): back to the queue as it was. */
  | { kind: 'requeue'; reason: string };

export interface MessageContext {
  logger: Logger;
  /** Failed attempts so far (`x-retry-count`). */
  retryCount: number;
  /** Set when this is the last attempt the budget allows: a failure now ends in the dead letters. */
  finalAttempt: boolean;
  /** Aborted at shutdown. */
  signal: AbortSignal;
  message: ConsumeMessage;
}

export type Parsed<T> = { ok: true; value: T; logger?: Logger } | { ok: false; reason: string };

/** Where a consumer's messages come from and go: its queue, its retry steps, its dead letters. */
export interface QueueRoute {
  queue: string;
  /** Extra arguments of the queue (e.g. single active consumer). */
  queueArguments?: Record<string, unknown>;
  /** Where a message goes back to when its wait in a retry queue ends. */
  back: { exchange: string; routingKey: string };
  retrySteps: RetrySteps;
  maxAttempts: number;
  deadLetter: { exchange: string; routingKey: string };
}

export interface QueueConsumerOptions<T> {
  /** What its messages are, for the logs: `task` (task dead-lettered), `report`. */
  what: string;
  url: string;
  prefetch: number;
  logger: Logger;
  route: QueueRoute;
  /** Declares what the queue is bound to (the exchanges, the dead-letter queue) on each new channel. */
  declare?: (channel: ConfirmChannel) => Promise<void>;
  parse: (message: ConsumeMessage) => Parsed<T>;
  handle: (value: T, context: MessageContext) => Promise<Settlement>;
  /** Hears how each message was settled, once the broker confirmed it (for metrics). */
  settled?: (settlement: Settlement, value: T | undefined) => void;
  /** Reconnect backoff (ms): first delay and cap. The cap keeps recovery within seconds of the broker's return. */
  reconnect?: { initialDelayMs: number; maxDelayMs: number };
  /** How often the broker is asked whether it answers, and how long a silence makes the consumer unready. */
  pulse?: { intervalMs: number; silenceMs: number };
}

/**
 * Consumes one durable queue with manual acks. A message is acked only once its fate is settled:
 * handled, or its retry / dead letter confirmed by the broker (published on a confirm channel
 * BEFORE the ack, so a crash in between duplicates a message at worst, never loses one). A failure
 * waits in the broker: it is published, `x-retry-count` raised, to the retry queue of its step,
 * whose TTL sends it back (a `Retry-After` the failure carries picks a step at least that long);
 * after `maxAttempts` it is dead-lettered with the reason, under a stable message id. Reconnects
 * by itself (amqplib's recovery), waiting for the broker however long it takes, also at start.
 * The task consumer and every reporter's consumer are this, configured.
 */
export class QueueConsumer<T> {
  readonly #options: QueueConsumerOptions<T>;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  readonly #pulse: BrokerPulse;
  #connection: RecoveringChannelModel | undefined;
  #channel: ConfirmChannel | undefined;
  #consumerTag: string | undefined;
  #stopping = false;

  constructor(options: QueueConsumerOptions<T>) {
    this.#options = options;
    this.#pulse = new BrokerPulse(options.pulse ?? { intervalMs: 2000, silenceMs: 6000 });
  }

  get route(): QueueRoute {
    return this.#options.route;
  }

  /** Connected, consuming, and the broker answered recently. */
  get ready(): boolean {
    return this.#channel !== undefined && this.#consumerTag !== undefined && !this.#stopping && this.#pulse.answering;
  }

  /** Resolves once consuming; waits for the broker as long as it is away. */
  async start(): Promise<void> {
    const { logger, url, reconnect, route } = this.#options;
    const connection = await amqp.connect(url, {
      // amqplib leaves Nagle on: a small write (an ack, a confirm-channel publish) then waits for
      // the broker's delayed ACK of the previous segment, ~40 ms whenever traffic is light.
      noDelay: true,
      recovery: {
        initialDelay: reconnect?.initialDelayMs ?? 200,
        maxDelay: reconnect?.maxDelayMs ?? 5000,
        waitForConnect: false,
        setup: (model: ChannelModel) => this.#setup(model),
      },
    });
    connection.on('disconnect', (err) => this.#lost(err));
    connection.on('connect', () => logger.info({ queue: route.queue }, `consuming ${route.queue}`));
    connection.on('reconnect-scheduled', ({ attempt, delay }) =>
      logger.info({ attempt, delay, queue: route.queue }, 'reconnect scheduled'),
    );
    connection.on('error', (err) => logger.warn({ err }, 'broker connection error'));
    this.#connection = connection;
    await connection.waitForConnect();
  }

  /** Stops consuming, lets in-flight messages finish (or hand themselves back), then closes. */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    this.#pulse.stop();
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
        { in_flight: this.#inFlight.size, queue: this.#options.route.queue },
        'in-flight messages unfinished; the broker redelivers them',
      );
    }
    // Closing the channel first waits for the broker's close-ok, so every ack sent is processed.
    await this.#channel?.close().catch(() => undefined);
    await this.#connection?.close().catch(() => undefined);
  }

  #lost(err: unknown): void {
    this.#channel = undefined;
    this.#consumerTag = undefined;
    this.#pulse.stop();
    if (!this.#stopping) this.#options.logger.warn({ err }, 'broker connection lost, reconnecting');
  }

  async #setup(model: ChannelModel): Promise<void> {
    const { route } = this.#options;
    const channel = await openTaskChannel(model, {
      onError: (err) => this.#options.logger.warn({ err }, 'channel error'),
      onClose: (closed) => {
        if (this.#channel !== closed) return false;
        this.#lost(undefined);
        return !this.#stopping;
      },
    });
    await this.#options.declare?.(channel);
    await declareRoute(channel, route);
    await channel.prefetch(this.#options.prefetch);
    this.#channel = channel;
    const { consumerTag } = await channel.consume(route.queue, (message) => {
      if (message) this.#track(this.#onMessage(channel, message));
    });
    this.#consumerTag = consumerTag;
    this.#pulse.start(() => channel.checkQueue(route.queue));
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #onMessage(channel: ConfirmChannel, message: ConsumeMessage): Promise<void> {
    const { logger: root, route } = this.#options;
    const retryCount = readRetryCount(message);
    const parsed = this.#options.parse(message);
    if (!parsed.ok) {
      root.warn({ reason: parsed.reason, message_id: message.properties.messageId }, 'unreadable message');
      return this.#settle(channel, message, undefined, root, {
        kind: 'dead-letter',
        reason: parsed.reason,
        category: 'invalid_message',
      });
    }
    const logger = parsed.logger ?? root;
    const finalAttempt = retryCount + 1 >= route.maxAttempts;
    let settlement: Settlement;
    try {
      settlement = await this.#options.handle(parsed.value, {
        logger,
        retryCount,
        finalAttempt,
        signal: this.#abort.signal,
        message,
      });
    } catch (err) {
      settlement = { kind: 'retry', error: err instanceof Error ? err : new Error(String(err)) };
    }
    if (settlement.kind === 'retry' && finalAttempt) {
      logger.error({ err: settlement.error }, `${this.#options.what} failed for the last time`);
      settlement = {
        kind: 'dead-letter',
        reason: `gave up after ${retryCount + 1} attempts: ${settlement.error.message}`,
        category: 'retries_exhausted',
      };
    }
    await this.#settle(channel, message, parsed.value, logger, settlement);
  }

  async #settle(
    channel: ConfirmChannel,
    message: ConsumeMessage,
    value: T | undefined,
    logger: Logger,
    settlement: Settlement,
  ): Promise<void> {
    const { route } = this.#options;
    try {
      switch (settlement.kind) {
        case 'ack':
          break;
        case 'requeue':
          logger.info({ reason: settlement.reason }, 'message handed back to the queue');
          return this.#nack(channel, message);
        case 'retry': {
          const next = readRetryCount(message) + 1;
          const delayMs = retryDelay(route.retrySteps, next, retryAfterOf(settlement.error));
          logger.warn(
            { err: settlement.error, retry_count: next, delay_ms: delayMs },
            `${this.#options.what} failed, republishing for another attempt`,
          );
          await publish(channel, '', retryQueueName(route.queue, delayMs), message, {
            ...settlement.headers,
            [HEADERS.retryCount]: next,
          });
          break;
        }
        case 'dead-letter': {
          logger.error(
            { reason: settlement.reason, category: settlement.category },
            `${this.#options.what} dead-lettered`,
          );
          const headers = { [HEADERS.deadLetterReason]: oneLine(settlement.reason) };
          // A crash between this publish and the ack writes it again: the same id lets tools show it once.
          await publish(channel, route.deadLetter.exchange, route.deadLetter.routingKey, message, headers, {
            messageId: deadLetterId(message),
          });
          break;
        }
      }
      this.#pulse.heard();
      this.#ack(channel, message);
      this.#options.settled?.(settlement, value);
    } catch (err) {
      // The retry or dead letter was not confirmed: keep the message, try it again shortly.
      logger.error({ err }, 'could not settle the message; it stays in the queue');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      this.#nack(channel, message);
    }
  }

  // A delivery can only be acked on the channel it came on; after a reconnect the broker
  // redelivers it, and handling is idempotent, so a lost ack costs a repetition, never a message.
  #ack(channel: ConfirmChannel, message: ConsumeMessage): void {
    if (this.#channel !== channel) return;
    try {
      channel.ack(message);
    } catch {
      // channel closed meanwhile: redelivered
    }
  }

  #nack(channel: ConfirmChannel, message: ConsumeMessage): void {
    if (this.#channel !== channel) return;
    try {
      channel.nack(message, false, true);
    } catch {
      // channel closed meanwhile: redelivered
    }
  }
}

/** The consumer's queue and one retry queue per step, each sending its messages back when their wait ends. */
export async function declareRoute(channel: ConfirmChannel, route: QueueRoute): Promise<void> {
  const options: Options.AssertQueue = { durable: true };
  if (route.queueArguments) options.arguments = route.queueArguments;
  await channel.assertQueue(route.queue, options);
  for (const delayMs of route.retrySteps) {
    await channel.assertQueue(retryQueueName(route.queue, delayMs), {
      durable: true,
      arguments: {
        'x-message-ttl': delayMs,
        'x-dead-letter-exchange': route.back.exchange,
        'x-dead-letter-routing-key': route.back.routingKey,
      },
    });
  }
}
