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
