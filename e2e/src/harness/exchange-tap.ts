import { EXCHANGE } from '@anton/contracts';
import amqp, { type ChannelModel, type ConsumeMessage } from 'amqplib';

const SENTINEL = 'e2e.sentinel';

export interface TappedMessage {
  routingKey: string;
  body: unknown;
}

export interface ExchangeTap {
  /**
   * What was published on the exchange since the last call. Exact, not a wait for quiet: it
   * publishes a sentinel and collects until the sentinel arrives. A publish the broker confirmed
   * before this call (as the ingester's are before it answers) was routed to the tap's queue
   * before the sentinel, so it is among the messages returned.
   */
  publishedSinceLastCheck(): Promise<TappedMessage[]>;
  close(): Promise<void>;
}

/** Binds a temporary queue to every routing key of the task exchange. */
export async function tapExchange(url: string): Promise<ExchangeTap> {
  const connection: ChannelModel = await amqp.connect(url);
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, EXCHANGE, '#');
  let received: TappedMessage[] = [];
  let onSentinel: ((id: string) => void) | undefined;
  await channel.consume(
    queue,
    (message: ConsumeMessage | null) => {
      if (!message) return;
      if (message.fields.routingKey === SENTINEL) onSentinel?.(String(message.properties.messageId));
      else received.push({ routingKey: message.fields.routingKey, body: parse(message.content) });
    },
    { noAck: true },
  );
  let count = 0;
  return {
    async publishedSinceLastCheck() {
      const id = `sentinel-${++count}`;
      const arrived = new Promise<void>((resolve) => {
        onSentinel = (seen) => seen === id && resolve();
      });
      channel.publish(EXCHANGE, SENTINEL, Buffer.from('{}'), { messageId: id });
      await channel.waitForConfirms();
      await arrived;
      const messages = received;
      received = [];
      return messages;
    },
    close: () => connection.close().catch(() => undefined),
  };
}

function parse(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8'));
  } catch {
    return content.toString('utf8');
  }
}
