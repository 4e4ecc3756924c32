import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureMessages, createTestVhost, type TestVhost } from './rabbitmq.ts';
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
