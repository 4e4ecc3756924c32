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
/** Short waits, so a test sees several retries; production's are seconds to minutes. */
const STEPS = [50, 100, 400];
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
  // A retry still waiting would come back into the next test.
  for (const step of STEPS)
    await broker.channel.purgeQueue(`orchestrator_queue.retry.${step}ms`).catch(() => undefined);
  await broker.close();
});

async function startConsumer(
  decide: (task: AgentTask, context: HandleContext) => TaskDisposition | Promise<TaskDisposition>,
  url = vhost.url,
  { start = true }: { start?: boolean } = {},
) {
  const handle: TaskHandler = async (task, context) => {
    calls.push({ task, context });
    return decide(task, context);
  };
  consumer = new TaskConsumer({
    url,
    prefetch: 1,
    maxRetries: 3,
    retrySteps: STEPS,
    handle,
    logger,
    metrics,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    pulse: { intervalMs: 100, silenceMs: 500 },
  });
  if (start) await consumer.start();
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

  it('lets a failed task wait in the retry queue of its step, which sends it back to task.created', async () => {
    const received: number[] = [];
    await startConsumer(() => {
      received.push(Date.now());
      return { kind: 'retry', error: new Error('503') };
    });
    for (const step of STEPS) {
      const retry = await broker.count(`orchestrator_queue.retry.${step}ms`);
      expect(retry.consumerCount).toBe(0); // nobody consumes it: the broker's TTL ends each wait
    }
    await broker.publish(makeTask());
    await waitFor(async () => (await broker.count(DEAD_LETTER_QUEUE)).messageCount === 1, { what: 'a dead letter' });
    expect(received).toHaveLength(3);
    // Retry n waited at least step n (TTL expiry may add to it, never take from it).
    expect((received[1] ?? 0) - (received[0] ?? 0)).toBeGreaterThanOrEqual(STEPS[0] ?? 0);
    expect((received[2] ?? 0) - (received[1] ?? 0)).toBeGreaterThanOrEqual(STEPS[1] ?? 0);
  });

  it("waits at least as long as a dependency's Retry-After: the first step that long", async () => {
    const received: number[] = [];
    await startConsumer(() => {
      received.push(Date.now());
      const error = Object.assign(new Error('429'), { retryAfterMs: 300 });
      return { kind: 'retry', error: new Error('throttled', { cause: error }) };
    });
    await broker.publish(makeTask());
    await waitFor(() => received.length === 2, { what: 'the retry' });
    expect((received[1] ?? 0) - (received[0] ?? 0)).toBeGreaterThanOrEqual(300);
  });

  it('gives each dead letter a stable message id: its own, or one derived from its body', async () => {
    await startConsumer(() => ({ kind: 'dead-letter', reason: 'no', category: 'no_repository' }));
    await broker.publish(Buffer.from('{not json'));
    await broker.publish(Buffer.from('{not json'));
    await waitFor(async () => (await broker.count(DEAD_LETTER_QUEUE)).messageCount === 2, { what: 'dead letters' });
    const ids = (await broker.drain(DEAD_LETTER_QUEUE)).map((m) => m.properties.messageId);
    expect(ids[0]).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(ids[1]).toBe(ids[0]);
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

  it('waits for the broker at start however long it is away, then consumes', async () => {
    const target = new URL(vhost.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5672) });
    try {
      await proxy.cut();
      target.port = String(proxy.port);
      const waiting = await startConsumer(() => ({ kind: 'duplicate', heldBy: 'x' }), target.toString(), {
        start: false,
      });
      let started = false;
      let failed: unknown;
      waiting.start().then(
        () => {
          started = true;
        },
        (err) => {
          failed = err;
        },
      );
      // Far more attempts than amqplib's initial retry budget would allow (5 at 50..200 ms).
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(failed).toBeUndefined();
      expect(started).toBe(false);
      await proxy.restore();
      await waitFor(() => started && waiting.ready, { what: 'the consumer to start once the broker is back' });
      await broker.publish(makeTask());
      await waitFor(() => calls.length === 1, { what: 'a task after the start' });
    } finally {
      await consumer?.stop(1000);
      consumer = undefined;
      await proxy.close();
    }
  });

  it('is not ready while the broker does not answer (a frozen broker), and ready again when it does', async () => {
    const target = new URL(vhost.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5672) });
    try {
      target.port = String(proxy.port);
      await startConsumer(() => ({ kind: 'duplicate', heldBy: 'x' }), target.toString());
      expect(consumer?.ready).toBe(true);
      proxy.stall('from-target'); // the socket stays open; nothing the broker says arrives
      await waitFor(() => consumer?.ready === false, { what: 'the consumer to turn unready' });
      await proxy.restore();
      await waitFor(() => consumer?.ready, { what: 'the consumer to be ready again' });
    } finally {
      await consumer?.stop(1000);
      consumer = undefined;
      await proxy.close();
    }
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
