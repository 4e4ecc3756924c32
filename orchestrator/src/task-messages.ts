import { createHash } from 'node:crypto';
import { AgentTask, CONTENT_TYPE_JSON, formatIssues, HEADERS } from '@anton/contracts';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';

export type Parsed = { ok: true; task: AgentTask } | { ok: false; reason: string };

export function parseTask(message: ConsumeMessage): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(message.content.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const result = AgentTask.safeParse(json);
  if (!result.success) return { ok: false, reason: `not an AgentTask: ${formatIssues(result.error)}` };
  return { ok: true, task: result.data };
}

export function readRetryCount(message: ConsumeMessage): number {
  const value = Number(message.properties.headers?.[HEADERS.retryCount] ?? 0);
  return Number.isInteger(value) && value >= 0 ? value : 0;
}

/** Header values are for an operator reading the DLQ: one line, bounded. */
export function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 1000 ? `${line.slice(0, 999)}…` : line;
}

/**
 * A dead letter's id: the message's own id (a task's is its task_id), else one derived from its
 * body, so the same message dead-lettered twice (a crash between the dead letter and the ack) has
 * one id the DLQ tools show and replay once.
 */
export function deadLetterId(message: Pick<ConsumeMessage, 'content' | 'properties'>): string {
  const own = message.properties.messageId;
  if (own !== undefined && own !== null && String(own) !== '') return String(own);
  return `sha256:${createHash('sha256').update(message.content).digest('hex').slice(0, 32)}`;
}

/**
 * Publishes the message's body and properties again, with `headers` added (and `overrides` of its
 * properties), and waits for the broker's confirm.
 */
export function publish(
  channel: Pick<ConfirmChannel, 'publish'>,
  exchange: string,
  routingKey: string,
  message: Pick<ConsumeMessage, 'content' | 'properties'>,
  headers: Record<string, unknown>,
  overrides: { messageId?: string; mandatory?: boolean } = {},
): Promise<void> {
  const { properties } = message;
  const options: Options.Publish = {
    persistent: true,
    contentType: properties.contentType ?? CONTENT_TYPE_JSON,
    headers: { ...properties.headers, ...headers },
    ...(properties.messageId !== undefined && { messageId: properties.messageId }),
    ...(properties.correlationId !== undefined && { correlationId: properties.correlationId }),
    ...(properties.timestamp !== undefined && { timestamp: properties.timestamp }),
    ...(properties.type !== undefined && { type: properties.type }),
    ...(properties.appId !== undefined && { appId: properties.appId }),
    ...overrides,
  };
  return new Promise((resolve, reject) => {
    try {
      channel.publish(exchange, routingKey, message.content, options, (err) => (err ? reject(err) : resolve()));
    } catch (err) {
      reject(err);
    }
  });
}
