import {
  type AgentTask,
  ANNOTATIONS,
  CONTEXT_FILE,
  contextConfigMapName,
  LABELS,
  RunnerContext,
} from '@anton/contracts';
import type { V1Job } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { finalCondition } from '../kubernetes/job-state.ts';
import type { JobInformer, KubernetesApi } from '../kubernetes/kubernetes-api.ts';
import { type RetryPolicy, withRetry } from '../kubernetes/with-retry.ts';
import { decideOutcome } from './decide-outcome.ts';
import { type FinishedTask, finishedTask, jobTaskInput } from './finished-task.ts';
import { jobFinishedAt, jobRunEnd } from './job-run-end.ts';
import { hasOutcome, recordOutcome } from './record-outcome.ts';
import { runTask } from './reported-facts.ts';

/** Where outcomes go (outcome-hand-over.ts). */
export interface OutcomeSink {
  /** Hands the outcome over: resolves once the broker confirmed its `task.completed` message. */
  publish(finished: FinishedTask): Promise<void>;
  /** This orchestrator's record of the outcome won: count it, release the claim when it allows a retry. */
  recorded(finished: FinishedTask): void;
}

export interface JobOutcomeWatcherOptions {
  api: KubernetesApi;
  /** The runner Jobs' watch (`app=anton-runner`): it resumes after disconnects and relists when too old. */
  informer: JobInformer;
  policy: RetryPolicy;
  logger: Logger;
  sink: OutcomeSink;
  /** After a failure to hand an outcome over or record it, the Jobs are looked at again this much later. */
  retryDelayMs?: number;
}

/**
 * Follows every runner Job to its end. Whenever the watch changes, each finished Job without a
 * result is decided (its pods' termination message, its final condition), its outcome published
 * on `task.completed` (confirmed by the broker: the only hand-over; the reporters' durable queues
 * take it from there), and then written on the Job, which marks it handed over. Nothing is
 * remembered but what the cluster holds, so a reconnect, a restart or a second replica finds every
 * finished Job that still lacks a result. A crash between the publish and the write publishes it
 * again (at least once); two orchestrators deciding one Job at once may both publish it, and the
 * reporters drop the second.
 */
export class JobOutcomeWatcher {
  readonly #options: JobOutcomeWatcherOptions;
  /** Handing over an outcome, by Job uid. */
  readonly #inFlight = new Map<string, Promise<void>>();
  /** Jobs handled by this process (recorded, or found unreportable), until they leave the watch. */
  #handled = new Set<string>();
  #wakeTimer: NodeJS.Timeout | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;
  #stopped = false;

  constructor(options: JobOutcomeWatcherOptions) {
    this.#options = options;
  }

  start(): void {
    this.#options.informer.onChange(() => this.#scan());
    this.#scan();
  }

  /** Stops looking, and waits for the outcomes being handed over now. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#wakeTimer);
    await Promise.allSettled(this.#inFlight.values());
  }

  #scan(): void {
    if (this.#stopped) return;
    const listed = new Set<string>();
    for (const job of this.#options.informer.list()) {
      const uid = job.metadata?.uid;
      if (!uid) continue;
      listed.add(uid);
      if (!finalCondition(job) || hasOutcome(job) || this.#inFlight.has(uid) || this.#handled.has(uid)) continue;
      const work = this.#record(job);
      this.#inFlight.set(uid, work);
      void work.finally(() => this.#inFlight.delete(uid));
    }
    this.#handled = new Set([...this.#handled].filter((uid) => listed.has(uid)));
  }

  async #record(job: V1Job): Promise<void> {
    const { api, policy, sink } = this.#options;
    const uid = job.metadata?.uid ?? '';
    const logger = this.#jobLogger(job);
    try {
      const finished = await this.#finished(job, logger);
      if (!finished) {
        logger.warn('a runner Job without the labels of a task: its outcome is not reported');
        this.#handled.add(uid);
        return;
      }
      const { status, pr_url, reason } = finished.outcome;
      await sink.publish(finished);
      const recorded = await recordOutcome(api, job, finished.outcome, { policy, logger });
      this.#handled.add(uid);
      if (recorded === 'recorded') {
        logger.info({ status, pr_url, reason }, 'runner finished: outcome handed over and recorded on the Job');
        sink.recorded(finished);
      } else if (recorded === 'job-gone') {
        logger.warn({ status }, 'the Job was deleted before its outcome was recorded on it; it was handed over');
      } else {
        logger.debug({ status }, 'outcome recorded by another orchestrator');
      }
    } catch (err) {
      logger.warn({ err }, 'could not hand over or record the outcome of a finished Job; trying again');
      this.#retryLater();
    }
  }

  #jobLogger(job: V1Job): Logger {
    return this.#options.logger.child({ task_id: job.metadata?.labels?.[LABELS.taskId], job: job.metadata?.name });
  }

  /** The task and how its run ended, from the Job, its pods and its context ConfigMap. */
  async #finished(job: V1Job, logger: Logger): Promise<FinishedTask | undefined> {
    const { api, policy } = this.#options;
    const pods = await withRetry('list pods', () => api.listPods(`job-name=${job.metadata?.name ?? ''}`), {
      policy,
      logger,
    });
    const input = jobTaskInput(job, await this.#readTask(job, logger));
    const end = jobRunEnd(job, pods);
    if (!input || !end) return undefined;
    // The repository as the orchestrator recorded it on the Job, which the pod cannot change.
    const task = runTask(input.taskId, input.externalId, job.metadata?.annotations?.[ANNOTATIONS.repository]);
    return finishedTask(input, decideOutcome(end, task), jobFinishedAt(job));
  }

  /** The AgentTask from the Job's task.json, which holds what the Job's metadata does not (labels). */
  async #readTask(job: V1Job, logger: Logger): Promise<AgentTask | undefined> {
    const taskId = job.metadata?.labels?.[LABELS.taskId];
    if (!taskId) return undefined;
    const name = contextConfigMapName(taskId.toLowerCase());
    const configMap = await withRetry('read context', () => this.#options.api.readConfigMap(name), {
      policy: this.#options.policy,
      logger,
    });
    const text = configMap?.data?.[CONTEXT_FILE];
    if (text === undefined) return undefined;
    try {
      return RunnerContext.parse(JSON.parse(text)).task;
    } catch {
      return undefined; // the Job's own labels and annotations still name the task
    }
  }

  #retryLater(): void {
    this.#wake(this.#options.retryDelayMs ?? 5000);
  }

  /** One timer for the next look: the earliest asked for wins. */
  #wake(delayMs: number): void {
    const at = Date.now() + Math.max(0, delayMs);
    if (this.#stopped || at >= this.#wakeAt) return;
    clearTimeout(this.#wakeTimer);
    this.#wakeAt = at;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeAt = Number.POSITIVE_INFINITY;
      this.#scan();
    }, at - Date.now());
    this.#wakeTimer.unref();
  }
}
