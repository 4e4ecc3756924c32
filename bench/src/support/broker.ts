import { randomUUID } from 'node:crypto';
import { CONTENT_TYPE_JSON, declareTaskTopology, EXCHANGE, HEADERS, TASK_CREATED } from '@anton/contracts';
import amqp from 'amqplib';

/** One message taken from `queue` (a task the ingester published, for the raw publisher to repeat). */
export async function takeOne(url: string, queue: string): Promise<Buffer | undefined> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    const message = await channel.get(queue, { noAck: true });
    return message ? message.content : undefined;
  } finally {
    await connection.close().catch(() => undefined);
  }
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
