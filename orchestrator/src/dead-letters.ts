import { DEAD_LETTER_QUEUE, EXCHANGE, HEADERS, TASK_CREATED } from '@anton/contracts';
import type { ConfirmChannel, GetMessage } from 'amqplib';
import { deadLetterId, publish } from './task-messages.ts';

/** Set on a message replayed from a dead-letter queue: when, so its story stays readable. */
export const REPLAYED_HEADER = 'x-anton-replayed';

/** One dead letter as an operator sees it; copies (a crash between the dead letter and its ack) count once. */
export interface DeadLetter {
  id: string;
  copies: number;
  reason: string | undefined;
  source: string | undefined;
  retryCount: number;
  /** The body as text (a task's JSON, or whatever poison came in). */
  body: string;
  headers: Record<string, unknown>;
}

/**
 * Where a dead letter goes back to: a task to `agent_events` / `task.created`; a report from a
 * reporter's dead-letter queue (`anton.reports.<name>.dlq`) to that reporter's queue alone.
 */
export function replayTarget(queue: string): { exchange: string; routingKey: string } {
  if (queue === DEAD_LETTER_QUEUE) return { exchange: EXCHANGE, routingKey: TASK_CREATED };
  const report = /^(anton\.reports\.[a-z0-9_-]+)\.dlq$/.exec(queue);
  if (report?.[1]) return { exchange: '', routingKey: report[1] };
  throw new Error(`${queue} is not a dead-letter queue anton knows (task.dlq, anton.reports.<name>.dlq)`);
}

/**
 * Takes every message of `queue` without acking it (they stay the broker's: a crash or a close
 * hands them all back), runs `decide` on the whole set, and hands back whatever it did not ack.
 */
async function withAll<T>(
  channel: ConfirmChannel,
  queue: string,
  decide: (messages: GetMessage[], settle: (message: GetMessage, how: 'ack') => void) => Promise<T>,
): Promise<T> {
  const settled = new Set<GetMessage>();
  const settle = (message: GetMessage) => {
    channel.ack(message);
    settled.add(message);
  };
  await channel.checkQueue(queue);
  const messages: GetMessage[] = [];
  for (;;) {
    const message = await channel.get(queue, { noAck: false });
    if (!message) break;
    messages.push(message);
  }
  try {
    return await decide(messages, settle);
  } finally {
    // What was not settled goes back.
    try {
      for (const message of messages) if (!settled.has(message)) channel.nack(message, false, true);
    } catch {
      // the channel closed (a refused publish): the broker hands back every unacked message itself
    }
    // The broker's answer to a synchronous call means it has handled every ack and nack before it.
    await channel.checkQueue(queue).catch(() => undefined);
  }
}

/** The dead letters in `queue`, one per id, oldest first. */
export function listDeadLetters(channel: ConfirmChannel, queue: string): Promise<DeadLetter[]> {
  return withAll(channel, queue, async (messages) => group(messages).map(({ letter }) => letter));
}

export interface ReplayResult {
  /** Ids republished (confirmed) and removed from the queue. */
  replayed: string[];
  /** Ids whose republish the broker did not confirm: left in the queue. */
  failed: Array<{ id: string; error: string }>;
}

/**
 * Republishes the dead letters `ids` selects (all of them for `'all'`) to where they came from,
 * with `x-retry-count` reset and `x-anton-replayed` set; each is removed from the queue (every
 * copy of it) only after the broker confirmed its republish, so nothing is lost if that fails.
 */
export function replayDeadLetters(
  channel: ConfirmChannel,
  queue: string,
  ids: readonly string[] | 'all',
  now: () => Date = () => new Date(),
): Promise<ReplayResult> {
  const target = replayTarget(queue);
  // A refused publish (say, no such exchange) closes the channel: no confirm ever comes then.
  let closedReason = '';
  const closed = new Promise<never>((_, reject) => {
    channel.once('close', () => reject(new Error(closedReason || 'the broker closed the channel')));
    channel.once('error', (err: Error) => {
      closedReason = err.message;
    });
  });
  closed.catch(() => undefined);
  // Published mandatory: a message no queue takes (a reporter's queue not declared) comes back
  // (basic.return, before its confirm) instead of being dropped.
  const returned = new Set<string>();
  channel.on('return', (message: { properties: { messageId?: unknown } }) => {
    returned.add(String(message.properties.messageId));
  });
  return withAll(channel, queue, async (messages, settle) => {
    const result: ReplayResult = { replayed: [], failed: [] };
    const wanted = ids === 'all' ? undefined : new Set(ids);
    for (const { letter, messages: copies } of group(messages)) {
      if (wanted && !wanted.has(letter.id)) continue;
      const first = copies[0];
      if (!first) continue;
      const headers = { ...first.properties.headers };
      delete headers[HEADERS.deadLetterReason];
      headers[HEADERS.retryCount] = 0;
      headers[REPLAYED_HEADER] = now().toISOString();
      try {
        const published = publish(
          channel,
          target.exchange,
          target.routingKey,
          { ...first, properties: { ...first.properties, headers } },
          {},
          { messageId: letter.id, mandatory: true },
        );
        published.catch(() => undefined); // heard through the race below
        // Confirmed before anything is acked: a republish that fails leaves the dead letter where it was.
        await Promise.race([published, closed]);
        if (returned.delete(letter.id)) throw new Error(`no queue is bound for ${target.routingKey}`);
      } catch (err) {
        result.failed.push({ id: letter.id, error: (err as Error).message });
        continue;
      }
      try {
        for (const copy of copies) settle(copy, 'ack');
        // The broker answers a synchronous call only after the acks before it: the copies are gone.
        const synced = channel.checkQueue(queue);
        synced.catch(() => undefined);
        await Promise.race([synced, closed]);
      } catch (err) {
        // A confirm can come before the broker closes the channel for that very publish (no such
        // exchange): the acks then never landed and the dead letter is still in the queue.
        result.failed.push({ id: letter.id, error: closedReason || (err as Error).message });
        break;
      }
      result.replayed.push(letter.id);
    }
    for (const id of wanted ?? []) {
      if (!result.replayed.includes(id) && !result.failed.some((f) => f.id === id)) {
        result.failed.push({ id, error: 'no dead letter with this id' });
      }
    }
    return result;
  });
}

function group(messages: GetMessage[]): Array<{ letter: DeadLetter; messages: GetMessage[] }> {
  const byId = new Map<string, { letter: DeadLetter; messages: GetMessage[] }>();
  for (const message of messages) {
    const id = deadLetterId(message);
    const known = byId.get(id);
    if (known) {
      known.letter.copies += 1;
      known.messages.push(message);
      continue;
    }
    const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
    const text = (name: string) => (headers[name] === undefined ? undefined : String(headers[name]));
    byId.set(id, {
      letter: {
        id,
        copies: 1,
        reason: text(HEADERS.deadLetterReason),
        source: text(HEADERS.source),
        retryCount: Number(headers[HEADERS.retryCount] ?? 0) || 0,
        body: message.content.toString('utf8'),
        headers,
      },
      messages: [message],
    });
  }
  return [...byId.values()];
}
