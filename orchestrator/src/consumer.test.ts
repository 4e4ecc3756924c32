import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type AgentTask, DEAD_LETTER_QUEUE, HEADERS, ORCHESTRATOR_QUEUE } from '@anton/contracts';
import { createTestVhost, resetDuringChannelSetup, startTcpProxy, type TestVhost, waitFor } from '@anton/testing';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestBroker } from '../test/broker.ts';
import { makeTask } from '../test/tasks.ts';
import { TaskConsumer, type TaskHandler } from './consumer.ts';
import type { HandleContext, TaskDisposition } from './handle-task.ts';
import { createMetrics, type Metrics } from './metrics.ts';

const run = promisify(execFile);
const logger = pino({ level: 'silent' });

let vhost: TestVhost;
let broker: TestBroker;
let consumer: TaskConsumer | undefined;
let metrics: Metrics;
let calls: Array<{ task: AgentTask; context: HandleContext }>;

beforeAll(async () => {
  vhost = await createTestVhost('orchestrator-consumer');
});
afterAll(() => vhost.delete());

beforeEach(async () => {
  broker = await TestBroker.connect(vhost.url);
  metrics = createMetrics();
  calls = [];
});
afterEach(async () => {
  await consumer?.stop(1000);
  consumer = undefined;
  await broker.drain(ORCHESTRATOR_QUEUE).catch(() => undefined);
  await broker.drain(DEAD_LETTER_QUEUE).catch(() => undefined);
  await broker.close();
});

async function startConsumer(
  decide: (task: AgentTask, context: HandleContext) => TaskDisposition | Promise<TaskDisposition>,
  url = vhost.url,
) {
  const handle: TaskHandler = async (task, context) => {
    calls.push({ task, context });
    return decide(task, context);
  };
  consumer = new TaskConsumer({
    url,
    prefetch: 1,
    maxRetries: 3,
    handle,
    logger,
    metrics,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  await consumer.start();
  return consumer;
}

const counter = async (metric: keyof Metrics, labels: Record<string, string> = {}) => {
  const values = (
    await (metrics[metric] as { get(): Promise<{ values: Array<{ labels: object; value: number }> }> }).get()
  ).values;
  return values
    .filter((v) => Object.entries(labels).every(([k, value]) => (v.labels as Record<string, string>)[k] === value))
    .reduce((sum, v) => sum + v.value, 0);
};

describe('TaskConsumer against the real broker', () => {
  it("declares the original's topology", async () => {
    await startConsumer(() => ({ kind: 'duplicate', heldBy: 'x' }));
    await expect(broker.channel.checkExchange('agent_events')).resolves.toBeDefined();
    await expect(broker.channel.checkExchange('agent_events_dlq')).resolves.toBeDefined();
    expect((await broker.count(ORCHESTRATOR_QUEUE)).consumerCount).toBe(1);
    expect((await broker.count(DEAD_LETTER_QUEUE)).consumerCount).toBe(0);
    expect(consumer?.ready).toBe(true);
  });

  it('hands a valid task to the handler and acks it once dispatched', async () => {
    await startConsumer(() => ({ kind: 'dispatched', runnerName: 'job', created: true, routedBy: 'llm' }));
    const task = makeTask();
    await broker.publish(task);
    await waitFor(() => calls.length === 1, { what: 'the task to be handled' });
    expect(calls[0]?.task).toEqual(task);
    expect(calls[0]?.context.finalAttempt).toBe(false);
    await consumer?.stop(1000);
    consumer = undefined;
    expect((await broker.count(ORCHESTRATOR_QUEUE)).messageCount).toBe(0);
    expect(await broker.drain(DEAD_LETTER_QUEUE)).toHaveLength(0);
    expect(await counter('consumed', { source: 'jira' })).toBe(1);
  });

  it('republishes a failed task with x-retry-count raised, then dead-letters it after MAX_RETRIES attempts', async () => {
    await startConsumer(() => ({ kind: 'retry', error: new Error('Kubernetes API 503: unavailable') }));
    const task = makeTask();
    await broker.publish(task, { [HEADERS.source]: 'jira' }, task.task_id);
    await waitFor(async () => (await broker.count(DEAD_LETTER_QUEUE)).messageCount === 1, { what: 'a dead letter' });
    expect(calls.map((c) => c.context.finalAttempt)).toEqual([false, false, true]);
    const [dead] = await broker.drain(DEAD_LETTER_QUEUE);
    expect(JSON.parse(dead?.content.toString() ?? '')).toEqual(task);
    expect(dead?.properties.messageId).toBe(task.task_id);
    expect(dead?.properties.deliveryMode).toBe(2);
    expect(dead?.properties.contentType).toBe('application/json');
    expect(dead?.properties.headers).toMatchObject({
      [HEADERS.retryCount]: 2,
      [HEADERS.source]: 'jira',
      [HEADERS.deadLetterReason]: 'gave up after 3 attempts: Kubernetes API 503: unavailable',
    });
    expect(await counter('retried')).toBe(2);
    expect(await counter('deadLettered', { reason: 'retries_exhausted' })).toBe(1);
  });

  it('continues counting from a republished message', async () => {
    await startConsumer(() => ({ kind: 'retry', error: new Error('boom') }));
    await broker.publish(makeTask(), { [HEADERS.retryCount]: 2 });
    await waitFor(async () => (await broker.count(DEAD_LETTER_QUEUE)).messageCount === 1, { what: 'a dead letter' });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.context.finalAttempt).toBe(true);
  });

  it('sends poison messages straight to the DLQ with the reason', async () => {
    await startConsumer(() => ({ kind: 'duplicate', heldBy: 'x' }));
    await broker.publish(Buffer.from('{not json'));
    await broker.publish({ ...makeTask(), priority: 'urgent' });
    await waitFor(async () => (await broker.count(DEAD_LETTER_QUEUE)).messageCount === 2, { what: 'two dead letters' });
    const reasons = (await broker.drain(DEAD_LETTER_QUEUE)).map(
      (m) => m.properties.headers?.[HEADERS.deadLetterReason],
    );
    expect(reasons[0]).toMatch(/^not JSON: /);
    expect(reasons[1]).toMatch(/^not an AgentTask: priority: /);
    expect(calls).toHaveLength(0);
    expect(await counter('deadLettered', { reason: 'invalid_message' })).toBe(2);
  });

  it('dead-letters at once what the handler says cannot be done, with its reason', async () => {
    await startConsumer(() => ({
      kind: 'dead-letter',
      reason: 'no repository:\nnothing names one',
      category: 'no_repository',
    }));
    await broker.publish(makeTask());
    await waitFor(async () => (await broker.count(DEAD_LETTER_QUEUE)).messageCount === 1, { what: 'a dead letter' });
    const [dead] = await broker.drain(DEAD_LETTER_QUEUE);
    expect(dead?.properties.headers?.[HEADERS.deadLetterReason]).toBe('no repository: nothing names one');
    expect(calls).toHaveLength(1);
  });

  it('hands a requeued message back unchanged and takes it again', async () => {
    let first = true;
    await startConsumer(() => {
      if (first) {
        first = false;
        return { kind: 'requeue', reason: 'no runner slot in time' };
      }
      return { kind: 'duplicate', heldBy: 'x' };
    });
    await broker.publish(makeTask());
    await waitFor(() => calls.length === 2, { what: 'a second delivery' });
    expect(await counter('retried')).toBe(0);
  });

  it('treats a handler that throws as a failed attempt', async () => {
    await startConsumer(() => {
      throw new Error('bug');
    });
    await broker.publish(makeTask());
    await waitFor(async () => (await broker.count(DEAD_LETTER_QUEUE)).messageCount === 1, { what: 'a dead letter' });
    const [dead] = await broker.drain(DEAD_LETTER_QUEUE);
    expect(dead?.properties.headers?.[HEADERS.deadLetterReason]).toBe('gave up after 3 attempts: bug');
  });

  it('reconnects by itself when the broker closes its connection, and keeps consuming', async () => {
    await startConsumer(() => ({ kind: 'duplicate', heldBy: 'x' }));
    await run('rabbitmqctl', ['-q', 'close_all_connections', '-p', vhost.name, 'test: forced close']);
    // The test broker's own connection went too.
    broker = await TestBroker.connect(vhost.url);
    await waitFor(() => consumer?.ready, { what: 'the consumer to reconnect' });
    await broker.publish(makeTask());
    await waitFor(() => calls.length === 1, { what: 'a task after the reconnect' });
  });

  it('survives a connection reset in the middle of setting up after a reconnect', async () => {
    const target = new URL(vhost.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5672) });
    try {
      target.port = String(proxy.port);
      await startConsumer(() => ({ kind: 'duplicate', heldBy: 'x' }), target.toString());
      // amqplib listens for errors on a new connection only once setup succeeds: an RST while the
      // topology is being declared used to crash the process.
      await resetDuringChannelSetup(proxy);
      await waitFor(() => consumer?.ready, { what: 'the consumer to reconnect after two resets' });
      await broker.publish(makeTask());
      await waitFor(() => calls.length === 1, { what: 'a task after the resets' });
    } finally {
      await consumer?.stop(1000);
      consumer = undefined;
      await proxy.close();
    }
  });
});
