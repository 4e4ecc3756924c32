import {
  ANNOTATIONS,
  DEAD_LETTER_EXCHANGE,
  DEAD_LETTER_QUEUE,
  DEAD_LETTER_ROUTING_KEY,
  HEADERS,
  ORCHESTRATOR_QUEUE,
} from '@anton/contracts';
import { type Capture, captureMessages, waitFor } from '@anton/testing';
import amqp, { type Message } from 'amqplib';
import { expect } from 'vitest';
import type { Pipeline } from '../../src/harness/pipeline.ts';
import type { Incident } from './steady-sender.ts';

export interface DeadLetter {
  externalId: string;
  taskId: string;
  reason: string;
}

/** Collects what the orchestrator dead-letters, the way an operator's DLQ consumer would see it. */
export function watchDeadLetters(pipeline: Pipeline): Promise<Capture> {
  return captureMessages(pipeline.vhost.url, DEAD_LETTER_ROUTING_KEY, {
    exchange: DEAD_LETTER_EXCHANGE,
    type: 'direct',
  });
}

export function deadLetters(capture: Capture): DeadLetter[] {
  return capture.messages.map(toDeadLetter);
}

function toDeadLetter(message: Message): DeadLetter {
  const task = JSON.parse(message.content.toString('utf8')) as { external_id: string; task_id: string };
  return {
    externalId: task.external_id,
    taskId: task.task_id,
    reason: String(message.properties.headers?.[HEADERS.deadLetterReason] ?? ''),
  };
}

/**
 * What sits in the durable dead-letter queue now, read without taking it (nothing is acknowledged).
 * Unlike a capture, this survives a broker restart.
 */
export async function queuedDeadLetters(pipeline: Pipeline): Promise<DeadLetter[]> {
  const connection = await amqp.connect(pipeline.vhost.url);
  try {
    const channel = await connection.createChannel();
    const letters: DeadLetter[] = [];
    for (;;) {
      const message = await channel.get(DEAD_LETTER_QUEUE, { noAck: false });
      if (!message) break;
      letters.push(toDeadLetter(message));
    }
    return letters;
  } finally {
    await connection.close();
  }
}

/** The runner Jobs by the incident they are for (the external id annotation). */
export function jobsByIncident(pipeline: Pipeline): Map<string, string[]> {
  const byIncident = new Map<string, string[]>();
  for (const job of pipeline.runnerJobs()) {
    const externalId = job.metadata.annotations?.[ANNOTATIONS.externalId] ?? '';
    byIncident.set(externalId, [...(byIncident.get(externalId) ?? []), job.metadata.name ?? '']);
  }
  return byIncident;
}

/** Messages in the task queue, ready or delivered and not yet acknowledged. */
export async function taskQueueDepth(pipeline: Pipeline): Promise<number> {
  const stdout = await pipeline.vhost.ctl(['list_queues', '-p', pipeline.vhost.name, 'name', 'messages']);
  const line = stdout.split('\n').find((row) => row.split(/\s+/)[0] === ORCHESTRATOR_QUEUE);
  return Number(line?.split(/\s+/)[1] ?? 0);
}

/**
 * The promise under faults: every incident answered 202 ends as exactly one Job or one dead letter
 * with a reason, and nothing else gets a Job. Waits until the task queue is empty and each incident
 * has its ending, then counts.
 */
export async function expectEachIncidentEndedOnce(
  pipeline: Pipeline,
  incidents: Incident[],
  readDeadLetters: () => Promise<DeadLetter[]>,
  { timeoutMs = 60_000 } = {},
): Promise<void> {
  const accepted = incidents.filter((incident) => incident.taskId !== undefined);
  expect(accepted.length).toBeGreaterThan(0);
  let letters: DeadLetter[] = [];
  const ended = (incident: Incident) =>
    jobsByIncident(pipeline).has(incident.externalId) ||
    letters.some((letter) => letter.externalId === incident.externalId);
  try {
    await waitFor(
      async () => {
        letters = await readDeadLetters();
        return accepted.every(ended) && (await taskQueueDepth(pipeline)) === 0;
      },
      {
        timeoutMs,
        intervalMs: 250,
        what: 'every accepted incident to end and the task queue to empty',
      },
    );
  } catch (err) {
    const open = accepted.filter((incident) => !ended(incident)).map((incident) => incident.externalId);
    throw new Error(`${(err as Error).message}; without an ending: ${open.join(', ') || 'none'}`);
  }
  const jobs = jobsByIncident(pipeline);
  letters = await readDeadLetters();
  for (const incident of accepted) {
    const endings = [
      ...(jobs.get(incident.externalId) ?? []),
      ...letters.filter((letter) => letter.externalId === incident.externalId).map((letter) => letter.reason),
    ];
    expect(endings, `the endings of ${incident.externalId}`).toHaveLength(1);
  }
  for (const letter of letters) expect(letter.reason, `dead letter of ${letter.externalId}`).not.toBe('');
  const known = new Set(accepted.map((incident) => incident.externalId));
  expect([...jobs.keys()].filter((externalId) => !known.has(externalId))).toEqual([]);
}
