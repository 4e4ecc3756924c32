import { createTestVhost, type TestVhost } from '@anton/testing';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchFrameWrites } from './amqp-write-batching.ts';

let vhost: TestVhost;
beforeAll(async () => {
  vhost = await createTestVhost('write-batching');
});
afterAll(async () => {
  await vhost?.delete();
});

interface CountedSocket {
  writes: number;
  chunks: number;
}

/** Counts the socket writes (a writev is one) and the buffers they carry. */
function countWrites(model: ChannelModel): CountedSocket {
  const socket = (model as unknown as { connection: { stream: Record<string, unknown> } }).connection.stream;
  const counted = { writes: 0, chunks: 0 };
  const write = socket._write as (...args: unknown[]) => void;
  const writev = socket._writev as (chunks: unknown[], ...rest: unknown[]) => void;
  socket._write = function (this: unknown, ...args: unknown[]) {
    counted.writes++;
    counted.chunks++;
    return write.apply(this, args);
  };
  socket._writev = function (this: unknown, chunks: unknown[], ...rest: unknown[]) {
    counted.writes++;
    counted.chunks += chunks.length;
    return writev.apply(this, [chunks, ...rest]);
  };
  return counted;
}

/** Publishes `count` task-sized messages in one turn and waits for their confirms. */
async function publishBurst(batched: boolean, count: number) {
  const model = await amqp.connect(vhost.url, { noDelay: true });
  try {
    const applied = batched ? batchFrameWrites(model) : false;
    const channel = await model.createConfirmChannel();
    const queue = (await channel.assertQueue('', { exclusive: true })).queue;
    const counted = countWrites(model);
    const content = Buffer.alloc(8 * 1024, 'x'); // an accepted Jira webhook's task is ~8 KB
    const confirmed = Array.from(
      { length: count },
      (_, i) =>
        new Promise<void>((resolve, reject) =>
          channel.sendToQueue(queue, content, { messageId: String(i), persistent: true }, (err) =>
            err ? reject(err) : resolve(),
          ),
        ),
    );
    await Promise.all(confirmed);
    const sent = { ...counted };
    const held = (await channel.checkQueue(queue)).messageCount;
    return { applied, held, ...sent };
  } finally {
    await model.close().catch(() => undefined);
  }
}

describe('batchFrameWrites', () => {
  it('writes the frames of the publishes queued in one turn together, and the broker confirms every one', async () => {
    const plain = await publishBurst(false, 20);
    const batched = await publishBurst(true, 20);
    expect(batched.applied).toBe(true);
    expect(plain.held).toBe(20);
    expect(batched.held).toBe(20);
    // Two frames a publish (method+header, body) either way; without batching, a write each.
    expect(plain.chunks).toBe(40);
    expect(plain.writes).toBe(40);
    expect(batched.chunks).toBe(40);
    expect(batched.writes).toBeLessThanOrEqual(20);
  });
});
