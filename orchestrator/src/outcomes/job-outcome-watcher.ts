import { type AgentTask, CONTEXT_FILE, contextConfigMapName, LABELS, RunnerContext } from '@anton/contracts';
import type { V1Job } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { finalCondition } from '../kubernetes/job-state.ts';
import type { JobInformer, KubernetesApi } from '../kubernetes/kubernetes-api.ts';
import { type RetryPolicy, withRetry } from '../kubernetes/with-retry.ts';
import { decideOutcome } from './decide-outcome.ts';
import { type FinishedTask, finishedTask, jobTaskInput } from './finished-task.ts';
import { jobFinishedAt, jobRunEnd } from './job-run-end.ts';
import { hasOutcome, recordOutcome } from './record-outcome.ts';

export interface JobOutcomeWatcherOptions {
  api: KubernetesApi;
  /** The runner Jobs' watch (`app=anton-runner`): it resumes after disconnects and relists when too old. */
  informer: JobInformer;
  policy: RetryPolicy;
  logger: Logger;
  /** This orchestrator, as written in the outcomes it records. */
  reporter: string;
  /** Called once per task, in the one orchestrator whose record of the outcome won. */
  onOutcome: (finished: FinishedTask) => void;
  /** After a failure to record an outcome, the Jobs are looked at again this much later. */
  retryDelayMs?: number;
}

/**
 * Follows every runner Job to its end. Whenever the watch changes, each finished Job without a
 * result is decided (its pods' termination message, its final condition) and its outcome written
 * on it; the orchestrator whose write wins reports it. Nothing is remembered but what the cluster
 * holds, so a reconnect, a restart or a second replica finds every finished Job that still lacks
 * a result, and none that has one.
 */
export class JobOutcomeWatcher {
  readonly #options: JobOutcomeWatcherOptions;
  readonly #inFlight = new Map<string, Promise<void>>();
  /** Jobs handled by this process (recorded, or found unreportable), until they leave the watch. */
  #handled = new Set<string>();
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: JobOutcomeWatcherOptions) {
    this.#options = options;
  }

  start(): void {
    this.#options.informer.onChange(() => this.#scan());
    this.#scan();
  }

  /** Stops looking, and waits for the outcomes being recorded now. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    await Promise.allSettled(this.#inFlight.values());
  }

  #scan(): void {
    if (this.#stopped) return;
    const listed = new Set<string>();
    for (const job of this.#options.informer.list()) {
      const uid = job.metadata?.uid;
      if (!uid) continue;
      listed.add(uid);
      if (!finalCondition(job) || hasOutcome(job) || this.#handled.has(uid) || this.#inFlight.has(uid)) continue;
      const work = this.#record(job).finally(() => this.#inFlight.delete(uid));
      this.#inFlight.set(uid, work);
    }
    this.#handled = new Set([...this.#handled].filter((uid) => listed.has(uid)));
  }

  async #record(job: V1Job): Promise<void> {
    const { api, policy, logger: root, reporter } = this.#options;
    const uid = job.metadata?.uid ?? '';
    const name = job.metadata?.name ?? '';
    const logger = root.child({ task_id: job.metadata?.labels?.[LABELS.taskId], job: name });
    const retry = { policy, logger };
    try {
      const pods = await withRetry('list pods', () => api.listPods(`job-name=${name}`), retry);
      const input = jobTaskInput(job, await this.#readTask(job, logger));
      const end = jobRunEnd(job, pods);
      if (!input || !end) {
        logger.warn('a runner Job without the labels of a task: its outcome is not reported');
        this.#handled.add(uid);
        return;
      }
      const finished = finishedTask(input, decideOutcome(end), jobFinishedAt(job));
      const { status, pr_url, reason } = finished.outcome;
      const recorded = await recordOutcome(api, job, finished.outcome, { reporter, policy, logger });
      this.#handled.add(uid);
      if (recorded === 'recorded') {
        logger.info({ status, pr_url, reason }, 'runner finished: outcome recorded on the Job');
        this.#options.onOutcome(finished);
      } else if (recorded === 'job-gone') {
        logger.error({ status, pr_url, reason }, 'the Job was deleted before its outcome was recorded: not reported');
      } else {
        logger.debug({ status }, 'outcome recorded by another orchestrator');
      }
    } catch (err) {
      logger.warn({ err }, 'could not record the outcome of a finished Job; trying again');
      this.#retryLater();
    }
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
    if (this.#stopped || this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#scan();
    }, this.#options.retryDelayMs ?? 5000);
    this.#retryTimer.unref();
  }
}
