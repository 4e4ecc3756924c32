import { randomUUID } from 'node:crypto';
import { CONTENT_TYPE_JSON, declareTaskTopology, EXCHANGE, HEADERS, TASK_CREATED } from '@anton/contracts';
import amqp from 'amqplib';

export interface QueueDrain {
  /** Messages taken so far. */
  readonly count: number;
  /** The body of the first message taken (a real published task, for the raw publisher). */
  readonly first: Buffer | undefined;
  close(): Promise<void>;
}

/** A consumer emptying `queue` as fast as the broker delivers (no ack round trips), counting. */
export async function drainQueue(url: string, queue: string): Promise<QueueDrain> {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  await declareTaskTopology(channel);
  let count = 0;
  let first: Buffer | undefined;
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      count += 1;
      first ??= message.content;
    },
    { noAck: true },
  );
  return {
    get count() {
      return count;
    },
    get first() {
      return first;
    },
    close: () => connection.close().catch(() => undefined),
  };
}

export interface RawPublisher {
  /** Publishes `content` persistent and mandatory, and resolves on the broker's confirm. */
  publish(content: Buffer, messageId?: string): Promise<void>;
  close(): Promise<void>;
}

/** What the ingester does per webhook, and nothing else: a confirm-channel publish of the task. */
export async function rawPublisher(url: string): Promise<RawPublisher> {
  // Nagle off, or every confirm waits ~40 ms on a delayed ACK at low rates: the floor, not a handicap.
  const connection = await amqp.connect(url, { noDelay: true });
  const channel = await connection.createConfirmChannel();
  await declareTaskTopology(channel);
  return {
    publish: (content, messageId = randomUUID()) =>
      new Promise((resolve, reject) => {
        const options = {
          persistent: true,
          mandatory: true,
          contentType: CONTENT_TYPE_JSON,
          messageId,
          timestamp: Math.floor(Date.now() / 1000),
          headers: { [HEADERS.source]: 'jira' },
        };
        channel.publish(EXCHANGE, TASK_CREATED, content, options, (err) => (err ? reject(err) : resolve()));
      }),
    close: () => connection.close().catch(() => undefined),
  };
}
