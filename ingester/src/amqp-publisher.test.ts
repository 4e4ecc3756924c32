import { randomUUID } from 'node:crypto';
import { type AgentTask, EXCHANGE, ORCHESTRATOR_QUEUE, TASK_CREATED } from '@anton/contracts';
import {
  captureMessages,
  RABBITMQ_BASE_URL,
  resetDuringChannelSetup,
  startTcpProxy,
  type TcpProxy,
  waitFor,
} from '@anton/testing';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../test/fixture.ts';
import { type Harness, startHarness } from '../test/harness.ts';
import { AmqpPublisher } from './amqp-publisher.ts';
import { createLogger } from './logger.ts';

let proxy: TcpProxy;
let harness: Harness;
let viaProxy: string;
beforeAll(async () => {
  const broker = new URL(RABBITMQ_BASE_URL);
  proxy = await startTcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
  harness = await startHarness({
    confirmTimeoutMs: 1000,
    brokerUrl: (vhost) => {
      const url = new URL(vhost.url);
      url.port = String(proxy.port);
      viaProxy = url.toString();
      return viaProxy;
    },
  });
});
afterAll(async () => {
  await harness?.close();
  await proxy?.close();
});

const body = fixture('sonar-qualitygate-ERROR-1.json');
const capturedIds = () => harness.capture.messages.map((message) => message.properties.messageId);

function task(): AgentTask {
  return {
    task_id: randomUUID(),
    source: 'jira',
    external_id: 'OPS-1',
    title: 'a task',
    priority: 'P3',
    raw_payload: {},
    created_at: new Date().toISOString(),
  };
}

describe('broker outages', () => {
  it('answers 503 while the broker is down, publishes nothing, and 202 again once it is back', async () => {
    const before = await harness.post('sonar', body);
    expect(before.statusCode).toBe(202);

    await proxy.cut();
    await waitFor(() => !harness.publisher.ready, { what: 'the publisher to notice the outage' });
    const during = await harness.post('sonar', body);
    expect(during.statusCode).toBe(503);
    expect(during.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    expect((await harness.app.inject('/readyz')).statusCode).toBe(503);
    expect((await harness.app.inject('/health')).json()).toEqual({ status: 'degraded', rabbitmq: 'unavailable' });
    expect((await harness.metricsApp.inject('/metrics')).body).toMatch(/^anton_ingester_broker_connected 0$/m);

    await proxy.restore();
    await waitFor(async () => (await harness.app.inject('/readyz')).statusCode === 200, { what: 'reconnection' });
    const after = await harness.post('sonar', body);
    expect(after.statusCode).toBe(202);
    await waitFor(() => capturedIds().includes(after.json().task_id), { what: 'the task sent after the outage' });
    expect(capturedIds()).toEqual([before.json().task_id, after.json().task_id]);
  });

  it('answers 503 when the broker does not confirm in time, and keeps working after', async () => {
    proxy.stall();
    const stalled = await harness.post('sonar', body);
    await proxy.restore();
    expect(stalled.statusCode).toBe(503);
    expect(
      harness.logs.some(
        (line) => line.msg === 'task not published' && JSON.stringify(line.err).includes('did not confirm'),
      ),
    ).toBe(true);
    expect((await harness.post('sonar', body)).statusCode).toBe(202);
  });
});

describe('a hung broker', () => {
  it('makes the publisher unready while the broker does not answer, though the socket stays open', async () => {
    const publisher = await AmqpPublisher.start({
      url: viaProxy,
      confirmTimeoutMs: 1000,
      logger: createLogger('silent'),
      pulse: { intervalMs: 100, silenceMs: 500 },
    });
    try {
      await waitFor(() => publisher.ready, { what: 'the publisher to connect' });
      proxy.stall('from-target'); // nothing the broker says arrives: no confirm, no answer
      await waitFor(() => !publisher.ready, { what: 'the publisher to turn unready' });
      expect(proxy.connections).toBeGreaterThan(0);
      await proxy.restore();
      await waitFor(() => publisher.ready, { what: 'the publisher to be ready again' });
    } finally {
      await proxy.restore();
      await publisher.close();
    }
  });
});

describe('closing', () => {
  it('refuses new tasks at once but finishes the ones in flight', async () => {
    const publisher = await AmqpPublisher.start({
      url: viaProxy,
      confirmTimeoutMs: 5000,
      logger: createLogger('silent'),
    });
    await waitFor(() => publisher.ready, { what: 'the second publisher to connect' });
    proxy.stall();
    const inFlight = task();
    const published = publisher.publish(inFlight);
    const closed = publisher.close();
    expect(publisher.ready).toBe(false);
    await expect(publisher.publish(task())).rejects.toThrow('the publisher is shutting down');
    await proxy.restore();
    await expect(published).resolves.toBeUndefined();
    await closed;
    await waitFor(() => capturedIds().includes(inFlight.task_id), { what: 'the in-flight task' });
  });
});

describe('a connection reset while the channel is being set up', () => {
  it('is retried, not a crash: the publisher comes back and publishes', async () => {
    // amqplib listens for errors on a new connection only once setup succeeds.
    await resetDuringChannelSetup(proxy);
    await waitFor(() => harness.publisher.ready, { what: 'the publisher to recover' });
    const reply = await harness.post('sonar', body);
    expect(reply.statusCode).toBe(202);
    await waitFor(() => capturedIds().includes(reply.json().task_id), { what: 'the task sent after the resets' });
  });
});

// Deleting the exchange also drops the harness capture's binding: the tests after this expect none.
describe('a channel that dies under a live connection', () => {
  it('is rebuilt, exchange included, without a restart', async () => {
    const admin = await amqp.connect(harness.vhost.url);
    try {
      const channel = await admin.createChannel();
      await channel.deleteExchange(EXCHANGE);
      // Publishing to the deleted exchange closes the channel (404): that publish is a 503.
      expect((await harness.post('sonar', body)).statusCode).toBe(503);
      await waitFor(() => harness.publisher.ready, { what: 'the publisher to recover' });
      await channel.checkExchange(EXCHANGE);
    } finally {
      await admin.close();
    }
    const capture = await captureMessages(harness.vhost.url, TASK_CREATED);
    try {
      const reply = await harness.post('sonar', body);
      expect(reply.statusCode).toBe(202);
      await waitFor(() => capture.messages.some((m) => m.properties.messageId === reply.json().task_id));
    } finally {
      await capture.close();
    }
  });
});

describe('the task queue', () => {
  it('holds a confirmed task in orchestrator_queue before any orchestrator has started', async () => {
    const reply = await harness.post('sonar', body);
    expect(reply.statusCode).toBe(202);
    const admin = await amqp.connect(harness.vhost.url);
    try {
      const channel = await admin.createChannel();
      const queued = await waitFor(async () => {
        const message = await channel.get(ORCHESTRATOR_QUEUE, { noAck: true });
        return message && message.properties.messageId === reply.json().task_id ? message : undefined;
      });
      expect(JSON.parse(queued.content.toString()).task_id).toBe(reply.json().task_id);
    } finally {
      await admin.close();
    }
  });

  it('answers 503 when no queue would receive the task, instead of dropping it', async () => {
    await harness.capture.close();
    const admin = await amqp.connect(harness.vhost.url);
    try {
      const channel = await admin.createChannel();
      await channel.unbindQueue(ORCHESTRATOR_QUEUE, EXCHANGE, TASK_CREATED);
      const reply = await harness.post('sonar', body);
      expect(reply.statusCode).toBe(503);
      expect(harness.rawLogs.join('')).toContain('no queue is bound to agent_events for task.created');
      expect((await harness.app.inject('/readyz')).statusCode).toBe(200);
    } finally {
      await admin.close();
    }
  });
});
