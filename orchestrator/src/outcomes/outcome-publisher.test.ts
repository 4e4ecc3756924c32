import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { EXCHANGE, TASK_COMPLETED, type TaskOutcome } from '@anton/contracts';
import { createTestVhost, resetDuringChannelSetup, startTcpProxy, type TestVhost, waitFor } from '@anton/testing';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestBroker } from '../../test/broker.ts';
import { OutcomePublisher } from './outcome-publisher.ts';

const run = promisify(execFile);
const QUEUE = 'outcomes-subscriber';
let vhost: TestVhost;
let publisher: OutcomePublisher;
let broker: TestBroker;

beforeAll(async () => {
  vhost = await createTestVhost('orchestrator-outcomes-publisher');
});
afterAll(() => vhost.delete());
beforeEach(async () => {
  publisher = await OutcomePublisher.start({
    url: vhost.url,
    logger: pino({ level: 'silent' }),
    reconnect: { initialDelayMs: 300, maxDelayMs: 500 },
  });
  await waitFor(() => publisher.ready, { what: 'the publisher to connect' });
  // A subscriber's durable queue: it outlives the connections a test closes.
  broker = await TestBroker.connect(vhost.url);
  await broker.channel.assertQueue(QUEUE, { durable: true });
  await broker.channel.bindQueue(QUEUE, EXCHANGE, TASK_COMPLETED);
});
afterEach(async () => {
  await publisher.close();
  await broker.channel.deleteQueue(QUEUE).catch(() => undefined);
  await broker.close();
});

const outcome = (): TaskOutcome => ({
  task_id: randomUUID(),
  source: 'datadog',
  external_id: '7001',
  status: 'no_changes',
  finished_at: new Date().toISOString(),
});

describe('OutcomePublisher', () => {
  it('publishes the outcome on agent_events / task.completed: persistent JSON, message_id = task_id', async () => {
    const sent = outcome();
    await publisher.publish(sent);
    const [message] = await broker.drain(QUEUE);
    expect(JSON.parse(message?.content.toString() ?? '')).toEqual(sent);
    expect(message?.fields).toMatchObject({ exchange: 'agent_events', routingKey: 'task.completed' });
    expect(message?.properties).toMatchObject({
      messageId: sent.task_id,
      deliveryMode: 2,
      contentType: 'application/json',
      headers: { 'x-anton-source': 'datadog' },
    });
  });

  it('refuses at once, retryable, while the broker is gone, and publishes again once it is back', async () => {
    await run('rabbitmqctl', ['-q', 'close_all_connections', '-p', vhost.name, 'test: broker restart']);
    await waitFor(() => !publisher.ready, { what: 'the publisher to notice' });
    await expect(publisher.publish(outcome())).rejects.toMatchObject({ retryable: true });
    await waitFor(() => publisher.ready, { what: 'the publisher to reconnect' });
    const sent = outcome();
    await publisher.publish(sent);
    broker = await TestBroker.connect(vhost.url); // the test's own connection was closed too
    const messages = await broker.drain(QUEUE);
    expect(messages.map((m) => m.properties.messageId)).toEqual([sent.task_id]);
  });

  it('declares the queues an outcome must reach before it is ready to publish', async () => {
    const declaring = await OutcomePublisher.start({
      url: vhost.url,
      logger: pino({ level: 'silent' }),
      declare: async (channel) => {
        await channel.assertQueue('anton.reports.test', { durable: true });
        await channel.bindQueue('anton.reports.test', EXCHANGE, TASK_COMPLETED);
      },
    });
    try {
      await waitFor(() => declaring.ready, { what: 'the publisher to connect' });
      const sent = outcome();
      await declaring.publish(sent);
      expect((await broker.drain('anton.reports.test')).map((m) => m.properties.messageId)).toEqual([sent.task_id]);
    } finally {
      await broker.channel.deleteQueue('anton.reports.test').catch(() => undefined);
      await declaring.close();
    }
  });

  it('survives a connection reset while its channel is being set up, and publishes after', async () => {
    const target = new URL(vhost.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5672) });
    target.port = String(proxy.port);
    const viaProxy = await OutcomePublisher.start({
      url: target.toString(),
      logger: pino({ level: 'silent' }),
      reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
    });
    try {
      await waitFor(() => viaProxy.ready, { what: 'the publisher to connect' });
      // amqplib listens for errors on a new connection only once setup succeeds.
      await resetDuringChannelSetup(proxy);
      await waitFor(() => viaProxy.ready, { what: 'the publisher to recover' });
      const sent = outcome();
      await viaProxy.publish(sent);
      const messages = await broker.drain(QUEUE);
      expect(messages.map((m) => m.properties.messageId)).toEqual([sent.task_id]);
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });
});
