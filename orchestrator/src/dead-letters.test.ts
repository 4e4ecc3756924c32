import {
  DEAD_LETTER_EXCHANGE,
  DEAD_LETTER_QUEUE,
  DEAD_LETTER_ROUTING_KEY,
  HEADERS,
  ORCHESTRATOR_QUEUE,
} from '@anton/contracts';
import { createTestVhost, type TestVhost } from '@anton/testing';
import amqp from 'amqplib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestBroker } from '../test/broker.ts';
import { makeTask } from '../test/tasks.ts';
import { runDlq } from './cli/dlq.ts';
import { REPLAYED_HEADER, replayDeadLetters } from './dead-letters.ts';

let vhost: TestVhost;
let broker: TestBroker;

beforeAll(async () => {
  vhost = await createTestVhost('orchestrator-dlq');
});
afterAll(() => vhost.delete());
beforeEach(async () => {
  broker = await TestBroker.connect(vhost.url);
  await broker.channel.assertExchange('agent_events', 'topic', { durable: true });
  await broker.channel.assertQueue(ORCHESTRATOR_QUEUE, { durable: true });
  await broker.channel.bindQueue(ORCHESTRATOR_QUEUE, 'agent_events', 'task.created');
  await broker.channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
  await broker.channel.assertQueue(DEAD_LETTER_QUEUE, { durable: true });
  await broker.channel.bindQueue(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, DEAD_LETTER_ROUTING_KEY);
});
afterEach(async () => {
  await broker.drain(ORCHESTRATOR_QUEUE);
  await broker.drain(DEAD_LETTER_QUEUE);
  await broker.close();
});

/** A dead letter as the consumer writes one (twice: a crash between it and the ack). */
async function deadLetter(body: unknown, reason: string, copies = 1): Promise<void> {
  for (let i = 0; i < copies; i += 1) {
    const task = body as { task_id?: string };
    broker.channel.publish(DEAD_LETTER_EXCHANGE, DEAD_LETTER_ROUTING_KEY, Buffer.from(JSON.stringify(body)), {
      persistent: true,
      ...(task.task_id && { messageId: task.task_id }),
      headers: { [HEADERS.retryCount]: 2, [HEADERS.deadLetterReason]: reason, [HEADERS.source]: 'jira' },
    });
  }
  await broker.channel.waitForConfirms();
}

const dlq = async (...args: string[]) => {
  const lines: string[] = [];
  const code = await runDlq(args, { RABBITMQ_URL: vhost.url }, (line) => lines.push(line));
  return { code, lines };
};

describe('the dlq command against the real broker', () => {
  it('lists each dead letter once with its reason, leaving them all in the queue', async () => {
    const a = makeTask();
    const b = makeTask({ external_id: 'ORD-43' });
    await deadLetter(a, 'gave up after 3 attempts: Kubernetes API 503', 2);
    await deadLetter(b, 'no repository: nothing names one');
    const { code, lines } = await dlq('list');
    expect(code).toBe(0);
    expect(lines).toEqual([
      `${a.task_id}\tjira\tretries=2 (2 copies)\tgave up after 3 attempts: Kubernetes API 503`,
      `${b.task_id}\tjira\tretries=2\tno repository: nothing names one`,
      '2 dead letter(s) in task.dlq',
    ]);
    expect((await broker.count(DEAD_LETTER_QUEUE)).messageCount).toBe(3);
  });

  it('shows one with its headers and body', async () => {
    const task = makeTask();
    await deadLetter(task, 'no repository');
    const { lines } = await dlq('show', task.task_id);
    expect(JSON.parse(lines.join('\n'))).toMatchObject({
      id: task.task_id,
      body: task,
      headers: { [HEADERS.deadLetterReason]: 'no repository' },
    });
    expect((await broker.count(DEAD_LETTER_QUEUE)).messageCount).toBe(1);
  });

  it('replays one back to task.created once (all its copies removed), retry count reset, marked replayed', async () => {
    const a = makeTask();
    const b = makeTask({ external_id: 'ORD-43' });
    await deadLetter(a, 'gave up', 2);
    await deadLetter(b, 'gave up');
    const { code, lines } = await dlq('replay', a.task_id);
    expect(code).toBe(0);
    expect(lines).toEqual([`replayed ${a.task_id}`]);
    const [replayed, ...more] = await broker.drain(ORCHESTRATOR_QUEUE);
    expect(more).toHaveLength(0);
    expect(JSON.parse(replayed?.content.toString() ?? '')).toEqual(a);
    expect(replayed?.properties.messageId).toBe(a.task_id);
    expect(replayed?.properties.headers?.[HEADERS.retryCount]).toBe(0);
    expect(replayed?.properties.headers?.[HEADERS.deadLetterReason]).toBeUndefined();
    expect(replayed?.properties.headers?.[REPLAYED_HEADER]).toMatch(/^\d{4}-\d\d-\d\dT/);
    const left = await broker.drain(DEAD_LETTER_QUEUE);
    expect(left.map((m) => m.properties.messageId)).toEqual([b.task_id]);
  });

  it('replays all, poison messages too (by the id derived from their body)', async () => {
    await deadLetter(makeTask(), 'gave up');
    await deadLetter({ not: 'a task' }, 'not an AgentTask');
    const { lines } = await dlq('replay', '--all');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^replayed sha256:[0-9a-f]{32}$/);
    expect(await broker.drain(ORCHESTRATOR_QUEUE)).toHaveLength(2);
    expect((await broker.count(DEAD_LETTER_QUEUE)).messageCount).toBe(0);
  });

  it('keeps a dead letter whose republish the broker does not confirm', async () => {
    const task = makeTask();
    await deadLetter(task, 'gave up');
    const connection = await amqp.connect(vhost.url);
    try {
      const channel = await connection.createConfirmChannel();
      // The broker nacks the republish (what it does when it cannot take a message).
      const nacking = new Proxy(channel, {
        get(target, key, receiver) {
          if (key !== 'publish') return Reflect.get(target, key, receiver).bind?.(target) ?? Reflect.get(target, key);
          return (_e: string, _k: string, _c: Buffer, _o: unknown, done: (err: Error | null) => void) => {
            done(new Error('message nacked'));
            return true;
          };
        },
      });
      const result = await replayDeadLetters(nacking, DEAD_LETTER_QUEUE, 'all');
      expect(result).toEqual({ replayed: [], failed: [{ id: task.task_id, error: 'message nacked' }] });
    } finally {
      await connection.close();
    }
    expect(await broker.drain(ORCHESTRATOR_QUEUE)).toHaveLength(0);
    expect((await broker.drain(DEAD_LETTER_QUEUE)).map((m) => m.properties.messageId)).toEqual([task.task_id]);
  });

  it("keeps a report's dead letter when its reporter's queue is gone (nothing would take the replay)", async () => {
    await broker.channel.assertQueue('anton.reports.gone.dlq', { durable: true });
    try {
      broker.channel.sendToQueue('anton.reports.gone.dlq', Buffer.from('{}'), { messageId: 'report-1' });
      await broker.channel.waitForConfirms();
      const { code, lines } = await dlq('--queue', 'anton.reports.gone.dlq', 'replay', '--all');
      expect(code).toBe(1);
      expect(lines).toEqual([
        'not replayed report-1: no queue is bound for anton.reports.gone (left in anton.reports.gone.dlq)',
      ]);
      expect((await broker.drain('anton.reports.gone.dlq')).map((m) => m.properties.messageId)).toEqual(['report-1']);
    } finally {
      await broker.channel.deleteQueue('anton.reports.gone.dlq');
    }
  });

  it('says what it needs when called wrong', async () => {
    await expect(dlq('replay')).rejects.toThrow(/usage: dlq/);
    await expect(dlq('--queue', 'elsewhere', 'list')).rejects.toThrow(/not a dead-letter queue anton knows/);
  });
});
