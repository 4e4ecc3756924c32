/**
 * RabbitMQ names on the wire. They are the original Python system's names and must not change:
 * consumers written against the original still bind to them.
 */
export const EXCHANGE = 'agent_events';
export const TASK_CREATED = 'task.created';
/** Outcome of a task, published by the orchestrator when its Job ends. */
export const TASK_COMPLETED = 'task.completed';
export const ORCHESTRATOR_QUEUE = 'orchestrator_queue';
export const DEAD_LETTER_EXCHANGE = 'agent_events_dlq';
export const DEAD_LETTER_QUEUE = 'task.dlq';
export const DEAD_LETTER_ROUTING_KEY = 'task.dlq';

export const HEADERS = {
  /** Integer count of failed attempts, raised on each republish (the original's header). */
  retryCount: 'x-retry-count',
  /** Which webhook source produced the task. */
  source: 'x-anton-source',
  /** Why a message was dead-lettered: one line, for an operator reading the DLQ. */
  deadLetterReason: 'x-anton-dead-letter-reason',
} as const;

export const CONTENT_TYPE_JSON = 'application/json';

/** The part of an AMQP channel that declares topology (amqplib's Channel fits it). */
export interface TopologyChannel {
  assertExchange(name: string, type: string, options: { durable: boolean }): Promise<unknown>;
  assertQueue(name: string, options: { durable: boolean }): Promise<unknown>;
  bindQueue(queue: string, exchange: string, pattern: string): Promise<unknown>;
}

/**
 * Declares the original's topology: the topic exchange, `orchestrator_queue` bound with
 * `task.created`, and the dead-letter exchange and queue. Both the ingester and the orchestrator
 * declare it (declarations are idempotent), so a task the ingester answered 202 for sits in the
 * durable queue even if no orchestrator has ever started.
 */
export async function declareTaskTopology(channel: TopologyChannel): Promise<void> {
  await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
  await channel.assertQueue(ORCHESTRATOR_QUEUE, { durable: true });
  await channel.bindQueue(ORCHESTRATOR_QUEUE, EXCHANGE, TASK_CREATED);
  await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
  await channel.assertQueue(DEAD_LETTER_QUEUE, { durable: true });
  await channel.bindQueue(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, DEAD_LETTER_ROUTING_KEY);
}
