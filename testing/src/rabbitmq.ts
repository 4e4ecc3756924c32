import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { EXCHANGE } from '@anton/contracts';
import amqp, { type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { TcpProxy } from './tcp-proxy.ts';
import { waitFor } from './wait-for.ts';

const run = promisify(execFile);

/** The broker every test shares; tests are isolated by vhost, never by renaming the wire names. */
export const RABBITMQ_BASE_URL = process.env.RABBITMQ_TEST_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface TestVhost {
  name: string;
  /** amqp URL with this vhost, for a service's RABBITMQ_URL. */
  url: string;
  /** `rabbitmqctl` on the broker node that holds the vhost. */
  ctl(args: string[]): Promise<string>;
  delete(): Promise<void>;
}

/** Which broker a vhost goes on: the shared one by default, or a node a test runs itself. */
export interface TestBrokerNode {
  /** amqp URL without a vhost. */
  url: string;
  /** Its Erlang node name; unset: rabbitmqctl's default node. */
  node?: string;
}

/** A fresh vhost on the real broker with full permissions for guest. */
export async function createTestVhost(
  label = 'test',
  broker: TestBrokerNode = { url: RABBITMQ_BASE_URL },
): Promise<TestVhost> {
  const name = `anton-${label}-${randomBytes(4).toString('hex')}`;
  const ctl = async (args: string[]) =>
    (await run('rabbitmqctl', [...(broker.node ? ['-n', broker.node] : []), '-q', ...args])).stdout;
  await ctl(['add_vhost', name]);
  await ctl(['set_permissions', '-p', name, 'guest', '.*', '.*', '.*']);
  return {
    name,
    url: `${broker.url}/${encodeURIComponent(name)}`,
    ctl,
    delete: async () => {
      await ctl(['delete_vhost', name]).catch(() => undefined);
    },
  };
}

export interface Capture {
  messages: ConsumeMessage[];
  /** Bodies parsed as JSON, in arrival order. */
  bodies(): unknown[];
  close(): Promise<void>;
}

/**
 * Binds a temporary exclusive queue to `exchange` with `routingKey` and collects what arrives,
 * the way an outside subscriber would see the pipeline's messages.
 */
export async function captureMessages(
  url: string,
  routingKey: string,
  { exchange = EXCHANGE, type = 'topic' }: { exchange?: string; type?: string } = {},
): Promise<Capture> {
  const connection: ChannelModel = await amqp.connect(url);
  const channel = await connection.createChannel();
  await channel.assertExchange(exchange, type, { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, exchange, routingKey);
  const messages: ConsumeMessage[] = [];
  await channel.consume(queue, (msg) => msg && messages.push(msg), { noAck: true });
  return {
    messages,
    bodies: () => messages.map((m) => JSON.parse(m.content.toString('utf8'))),
    close: () => connection.close().catch(() => undefined),
  };
}

/** AMQP 0-9-1 methods a test may wait for on the wire, as [class id, method id] (the spec's numbering). */
const AMQP_METHODS = {
  'channel.open': [20, 10],
  'exchange.declare': [40, 10],
  'queue.declare': [50, 10],
  'basic.consume': [60, 20],
  'confirm.select': [85, 10],
} as const;

/**
 * Whether a chunk a client sent holds a method frame for `method` (frame: type 1, channel u16,
 * size u32, class u16, method u16, …, end 0xCE). For TcpProxy.resetOn: a fault at an exact step.
 */
export function sendsAmqpMethod(chunk: Buffer, method: keyof typeof AMQP_METHODS): boolean {
  const [classId, methodId] = AMQP_METHODS[method];
  let offset = chunk.subarray(0, 4).toString('latin1') === 'AMQP' ? 8 : 0;
  while (offset + 7 <= chunk.length) {
    const size = chunk.readUInt32BE(offset + 3);
    if (chunk[offset] === 1 && size >= 4 && offset + 11 <= chunk.length) {
      if (chunk.readUInt16BE(offset + 7) === classId && chunk.readUInt16BE(offset + 9) === methodId) return true;
    }
    offset += 7 + size + 1;
  }
  return false;
}

/**
 * Resets every connection through `proxy`, then again the moment a reconnecting client declares
 * the task exchange: a fault in the middle of its channel setup. Resolves once both have happened.
 */
export async function resetDuringChannelSetup(proxy: TcpProxy): Promise<void> {
  const armed = proxy.resetOn((chunk) => sendsAmqpMethod(chunk, 'exchange.declare'));
  proxy.reset();
  await waitFor(() => armed.fired, { what: 'the reset during the topology declaration' });
}
