import { Writable } from 'node:stream';
import { waitFor } from '@anton/testing';
import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics.ts';
import { type Delivery, ReportError, ReportQueue } from './report-queue.ts';

let lines: Array<Record<string, unknown>>;
let metrics: ReturnType<typeof createMetrics>;

function makeQueue(overrides: Partial<ConstructorParameters<typeof ReportQueue>[0]> = {}): ReportQueue {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return new ReportQueue({
    maxAttempts: 4,
    baseDelayMs: 1,
    maxDelayMs: 20,
    timeoutMs: 1000,
    logger: pino({ level: 'info' }, sink),
    metrics,
    ...overrides,
  });
}

/** A delivery that fails with the given errors, in order, then succeeds. */
function scripted(failures: unknown[], extra: Partial<Delivery> = {}) {
  const attempts: number[] = [];
  const delivery: Delivery = {
    reporter: 'jira',
    taskId: 'task-1',
    what: 'comment on ORD-42',
    send: async () => {
      attempts.push(attempts.length + 1);
      const failure = failures.shift();
      if (failure) throw failure;
    },
    ...extra,
  };
  return { delivery, attempts };
}

const count = async (outcome: string, reporter = 'jira') =>
  (await metrics.reports.get()).values.find((v) => v.labels.outcome === outcome && v.labels.reporter === reporter)
    ?.value ?? 0;

beforeEach(() => {
  lines = [];
  metrics = createMetrics();
});

describe('ReportQueue', () => {
  it('returns at once and retries a retryable failure until the delivery goes through', async () => {
    const queue = makeQueue();
    const { delivery, attempts } = scripted([
      new ReportError('HTTP 500', { retryable: true }),
      new TypeError('fetch failed'), // no answer at all: worth another try too
    ]);
    const result = queue.enqueue(delivery);
    expect(queue.pending).toBe(1);
    await expect(result).resolves.toBe('sent');
    expect(attempts).toHaveLength(3);
    expect(await count('sent')).toBe(1);
    expect(lines.filter((l) => l.msg === 'report failed, retrying')).toHaveLength(2);
  });

  it('gives up at once on a permanent failure: logged at error level with the task_id, and counted', async () => {
    const queue = makeQueue();
    const { delivery, attempts } = scripted([new ReportError('HTTP 404: no such issue', { retryable: false })]);
    await expect(queue.enqueue(delivery)).resolves.toBe('failed');
    expect(attempts).toHaveLength(1);
    expect(await count('failed')).toBe(1);
    expect(lines.find((l) => l.msg === 'report failed for good')).toMatchObject({
      level: 50,
      task_id: 'task-1',
      reporter: 'jira',
      what: 'comment on ORD-42',
      attempts: 1,
      err: expect.objectContaining({ message: 'HTTP 404: no such issue' }),
    });
  });

  it('stops after the attempt budget (the delivery may ask for its own)', async () => {
    const queue = makeQueue();
    const failing = () => Array.from({ length: 20 }, () => new ReportError('HTTP 503', { retryable: true }));
    const usual = scripted(failing());
    const generous = scripted(failing(), { reporter: 'task_completed', maxAttempts: 7 });
    queue.enqueue(usual.delivery);
    queue.enqueue(generous.delivery);
    await waitFor(() => queue.pending === 0, { what: 'both deliveries' });
    expect(usual.attempts).toHaveLength(4);
    expect(generous.attempts).toHaveLength(7);
    expect(await count('failed')).toBe(1);
    expect(await count('failed', 'task_completed')).toBe(1);
  });

  it('waits what the service asks (Retry-After), within the cap', async () => {
    const queue = makeQueue({ maxDelayMs: 150 });
    const { delivery, attempts } = scripted([new ReportError('HTTP 429', { retryable: true, retryAfterMs: 120 })]);
    queue.enqueue(delivery);
    await waitFor(() => queue.pending === 0, { what: 'the delivery' });
    expect(lines.find((l) => l.msg === 'report failed, retrying')).toMatchObject({ delay_ms: 120 });
    expect(attempts).toHaveLength(2);
  });

  it('at shutdown, lets pending deliveries finish, then abandons the rest, each logged and counted', async () => {
    const queue = makeQueue({ baseDelayMs: 60_000, maxDelayMs: 60_000 });
    const stuck = scripted([new ReportError('HTTP 502', { retryable: true })], { taskId: 'task-stuck' });
    const quick = scripted([], { taskId: 'task-quick' });
    const results = Promise.all([queue.enqueue(stuck.delivery), queue.enqueue(quick.delivery)]);
    await queue.drain(50);
    await expect(results).resolves.toEqual(['abandoned', 'sent']);
    expect(queue.pending).toBe(0);
    expect(await count('sent')).toBe(1);
    expect(await count('abandoned')).toBe(1);
    expect(lines.find((l) => l.msg?.toString().startsWith('report abandoned'))).toMatchObject({
      level: 50,
      task_id: 'task-stuck',
    });
    // After the drain: not sent, not lost silently.
    await expect(queue.enqueue(scripted([], { taskId: 'task-late' }).delivery)).resolves.toBe('abandoned');
    expect(await count('abandoned')).toBe(2);
  });
});
