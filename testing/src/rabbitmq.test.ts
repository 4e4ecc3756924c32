import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureMessages, createTestVhost, RABBITMQ_BASE_URL, sendsAmqpMethod, type TestVhost } from './rabbitmq.ts';
import { startTcpProxy } from './tcp-proxy.ts';
import { waitFor } from './wait-for.ts';

describe('test vhosts on the real broker', () => {
  let vhost: TestVhost;
  beforeAll(async () => {
    vhost = await createTestVhost('selftest');
  });
  afterAll(() => vhost.delete());

  it('isolates messages by vhost', async () => {
    const other = await createTestVhost('selftest');
    const here = await captureMessages(vhost.url, 'task.created');
    const there = await captureMessages(other.url, 'task.created');
    const connection = await amqp.connect(vhost.url);
    const channel = await connection.createConfirmChannel();
    channel.publish('agent_events', 'task.created', Buffer.from('{"n":1}'));
    await channel.waitForConfirms();
    await waitFor(() => here.messages.length === 1, { what: 'the message in its own vhost' });
    await new Promise((r) => setTimeout(r, 100));
    expect(here.bodies()).toEqual([{ n: 1 }]);
    expect(there.messages).toHaveLength(0);
    await Promise.all([here.close(), there.close(), connection.close()]);
    await other.delete();
  });
});

describe('sendsAmqpMethod', () => {
  it('finds the method frames a real client sends, and only those', async () => {
    const broker = new URL(RABBITMQ_BASE_URL);
    const proxy = await startTcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
    const url = new URL(RABBITMQ_BASE_URL);
    url.port = String(proxy.port);
    const seen: string[] = [];
    const methods = ['channel.open', 'confirm.select', 'exchange.declare', 'queue.declare', 'basic.consume'] as const;
    proxy.resetOn((chunk) => {
      for (const method of methods) if (sendsAmqpMethod(chunk, method)) seen.push(method);
      return false;
    });
    const connection = await amqp.connect(url.toString());
    try {
      const channel = await connection.createConfirmChannel();
      expect(seen).toEqual(['channel.open', 'confirm.select']);
      await channel.assertExchange('agent_events', 'topic', { durable: true });
      expect(seen.at(-1)).toBe('exchange.declare');
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.consume(queue, () => undefined);
      expect(seen).toEqual([...methods]);
    } finally {
      await connection.close();
      await proxy.close();
    }
  });

  it('reads a frame that follows the protocol header in the same chunk, and rejects a truncated one', () => {
    const frame = (classId: number, methodId: number) => {
      const payload = Buffer.alloc(4);
      payload.writeUInt16BE(classId, 0);
      payload.writeUInt16BE(methodId, 2);
      const head = Buffer.alloc(7);
      head.writeUInt8(1, 0);
      head.writeUInt16BE(1, 1);
      head.writeUInt32BE(payload.length, 3);
      return Buffer.concat([head, payload, Buffer.from([0xce])]);
    };
    const header = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');
    expect(sendsAmqpMethod(Buffer.concat([header, frame(40, 10)]), 'exchange.declare')).toBe(true);
    expect(sendsAmqpMethod(Buffer.concat([frame(20, 10), frame(40, 10)]), 'exchange.declare')).toBe(true);
    expect(sendsAmqpMethod(frame(50, 10), 'exchange.declare')).toBe(false);
    expect(sendsAmqpMethod(frame(40, 10).subarray(0, 9), 'exchange.declare')).toBe(false);
  });
});
