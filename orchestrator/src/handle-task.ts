import type { AgentTask, RoutedBy } from '@anton/contracts';
import type { Logger } from 'pino';
import type { Capacity } from './capacity.ts';
import { type Deduplicator, dedupHash } from './dedup.ts';
import type { Dispatcher } from './dispatch/dispatcher.ts';
import type { EnrichTask } from './enrichment/enrich-task.ts';
import { PermanentError } from './errors.ts';
import type { DeadLetterKind, Metrics } from './metrics.ts';
import { resolveRepository } from './resolve-repository.ts';
import { type PlanSource, routeTask } from './router/route-task.ts';
import type { RoutingConfig } from './routing-config.ts';

/** What became of one task; the consumer acks, republishes, dead-letters or requeues by it. */
export type TaskDisposition =
  | { kind: 'dispatched'; runnerName: string; created: boolean; routedBy: RoutedBy }
  | { kind: 'duplicate'; heldBy: string }
  | { kind: 'dead-letter'; reason: string; category: DeadLetterKind }
  | { kind: 'retry'; error: Error }
  /** Not handled and not failed (shutting down, or held at the cap too long): back to the queue as it was. */
  | { kind: 'requeue'; reason: string };

export interface TaskPorts {
  dedup: Deduplicator;
  routing: RoutingConfig;
  llm: PlanSource | undefined;
  dispatcher: Dispatcher;
  capacity: Capacity;
  /** How long a task may hold its message while waiting for a runner slot. */
  capacityHoldMs: number;
  metrics: Metrics;
  /** Adds what the source's API knows to the task; never fails. Unset: the task as it came. */
  enrich?: EnrichTask;
}

export interface HandleContext {
  logger: Logger;
  /** Set when this is the last attempt the retry budget allows: a failure now ends in the DLQ. */
  finalAttempt: boolean;
  /** Aborted at shutdown: a task still waiting for a slot gives its message back. */
  signal: AbortSignal;
}

/**
 * One task through the pipeline: deduplicate (before any LLM call), enrich from the source's API,
 * resolve the repository, wait for a runner slot, route, dispatch. Plain logic over injected ports;
 * every outcome is a value.
 */
export async function handleTask(task: AgentTask, ports: TaskPorts, context: HandleContext): Promise<TaskDisposition> {
  const { logger, signal } = context;
  const hash = dedupHash(task);
  let reserved: string | undefined;

  // The task ends without a runner: let a later event about this incident try again. Whatever
  // attempt made the claim (this one may have failed before reaching it); a release that fails is
  // covered by the claim's pending bound (dedup.ts).
  const releaseClaim = () =>
    ports.dedup.release(hash, task.task_id).catch((err) => logger.warn({ err }, 'claim release failed'));
  const deadLetter = async (reason: string, category: DeadLetterKind): Promise<TaskDisposition> => {
    await releaseClaim();
    return { kind: 'dead-letter', reason, category };
  };

  // Before the claim: a task that may not start leaves nothing behind.
  const resolution = resolveRepository(task, ports.routing);
  if (resolution.kind !== 'resolved') {
    logger.warn({ source: task.source, external_id: task.external_id }, 'no allowed repository for task');
    return resolution.kind === 'not-allowed'
      ? {
          kind: 'dead-letter',
          reason: `repository not allowed: ${shortened(resolution.named)}`,
          category: 'repository_not_allowed',
        }
      : {
          kind: 'dead-letter',
          reason: 'no repository: nothing in the task or ROUTING_CONFIG names one',
          category: 'no_repository',
        };
  }
  let { repository } = resolution;

  try {
    const claim = await ports.dedup.claim(hash, task.task_id);
    if (claim.kind === 'duplicate') {
      ports.metrics.deduplicated.inc({ source: task.source });
      logger.info({ dedup_hash: hash, held_by: claim.heldBy, holder_status: claim.status }, 'duplicate task skipped');
      return { kind: 'duplicate', heldBy: claim.heldBy };
    }
    // The enriched task (description, base branch, deployed commit) is what is routed and dispatched.
    if (ports.enrich) task = await ports.enrich(task, logger, signal);
    // What the enrichment found was analysed (a pull request's head branch) is what is cloned.
    if (task.base_branch) repository = { ...repository, baseBranch: task.base_branch };

    logger.info({ repository: repository.url, resolved_by: repository.resolvedBy }, 'repository resolved');

    const runnerName = ports.dispatcher.runnerName(task.task_id);
    if (ports.capacity.used >= ports.capacity.max) {
      ports.metrics.capacityWaits.inc();
      logger.info({ active: ports.capacity.used, max: ports.capacity.max }, 'at the runner cap, waiting for a slot');
    }
    const slot = await ports.capacity.acquire(runnerName, { signal, timeoutMs: ports.capacityHoldMs });
    if (slot !== 'acquired') {
      return { kind: 'requeue', reason: slot === 'aborted' ? 'shutting down' : 'no runner slot in time' };
    }
    reserved = runnerName;

    const { plan, routedBy } = await routeTask(
      { task, repository },
      { llm: ports.llm, logger, metrics: ports.metrics },
    );
    const result = await ports.dispatcher.dispatch({ task, repository, plan, routedBy, dedupHash: hash }, logger);
    reserved = undefined; // the runner exists: from here the watch counts it
    await ports.dedup
      .markDispatched(hash, task.task_id)
      .catch((err) => logger.warn({ err }, 'could not mark the claim dispatched'));
    if (result.created) {
      ports.metrics.dispatched.inc({ source: task.source, template: plan.template_id, routed_by: routedBy });
    }
    return { kind: 'dispatched', runnerName: result.runnerName, created: result.created, routedBy };
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    if (error instanceof PermanentError) return await deadLetter(error.message, 'not_dispatchable');
    if (context.finalAttempt) await releaseClaim();
    return { kind: 'retry', error };
  } finally {
    if (reserved) ports.capacity.release(reserved);
  }
}

/** A payload's value in a dead-letter reason: enough to recognise it, not a payload's worth. */
function shortened(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}
