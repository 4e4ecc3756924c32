import { CONTENT_TYPE_JSON, EXCHANGE, TASK_CREATED } from '@anton/contracts';
import amqp, { type ChannelModel, type ConfirmChannel, type GetMessage } from 'amqplib';

/** A test's own connection to its vhost: publishes as the ingester does and reads queues as an operator would. */
export class TestBroker {
  readonly #connection: ChannelModel;
  readonly channel: ConfirmChannel;

  private constructor(connection: ChannelModel, channel: ConfirmChannel) {
    this.#connection = connection;
    this.channel = channel;
  }

  static async connect(url: string): Promise<TestBroker> {
    const connection = await amqp.connect(url);
    const channel = await connection.createConfirmChannel();
    return new TestBroker(connection, channel);
  }

  /** Publishes a body (an object as JSON, or raw bytes) on agent_events / task.created, confirmed. */
  async publish(body: unknown, headers: Record<string, unknown> = {}, messageId?: string): Promise<void> {
    const content = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    this.channel.publish(EXCHANGE, TASK_CREATED, content, {
      persistent: true,
      contentType: CONTENT_TYPE_JSON,
      headers,
      ...(messageId !== undefined && { messageId }),
    });
    await this.channel.waitForConfirms();
  }

  /** Takes every message now in `queue` (acked). */
  async drain(queue: string): Promise<GetMessage[]> {
    const messages: GetMessage[] = [];
    for (;;) {
      const message = await this.channel.get(queue, { noAck: true });
      if (!message) return messages;
      messages.push(message);
    }
  }

  async count(queue: string): Promise<{ messageCount: number; consumerCount: number }> {
    return this.channel.checkQueue(queue);
  }

  close(): Promise<void> {
    return this.#connection.close().catch(() => undefined);
  }
}
