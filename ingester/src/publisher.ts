import type { AgentTask } from '@anton/contracts';

/** Where accepted tasks go. The app only sees this; `amqp-publisher.ts` is the RabbitMQ one. */
export interface TaskPublisher {
  /** Resolves once the broker has taken responsibility for the task; rejects with `PublishError`. */
  publish(task: AgentTask): Promise<void>;
  /** True while a publish could succeed now (connected, channel open, not closing). */
  readonly ready: boolean;
  /** Refuses new publishes, waits for those in flight, then disconnects. */
  close(): Promise<void>;
}

/**
 * The task was not confirmed: the broker is unreachable, refused it, found no queue for it, or did
 * not answer in time. Retryable by the sender; the webhook answers 503.
 */
export class PublishError extends Error {
  override name = 'PublishError';
}
