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
import { isConflict, isNotFound, type JobInformer, type KubernetesApi } from '../kubernetes/kubernetes-api.ts';
import { type RetryPolicy, withRetry } from '../kubernetes/with-retry.ts';
import { decideOutcome } from './decide-outcome.ts';
import { type FinishedTask, finishedTask, jobTaskInput } from './finished-task.ts';
import { jobFinishedAt, jobRunEnd } from './job-run-end.ts';
import { hasOutcome, recordOutcome } from './record-outcome.ts';
import { runTask } from './reported-facts.ts';

/** Where outcomes go (OutcomeReporting): who each is owed to, and its delivery. */
export interface OutcomeSink {
  owed(finished: FinishedTask): string[];
  /**
   * Delivers to every reporter, or `only` those, telling `onDone` of each as it is done with;
   * resolves with the reporters a shutdown left owed.
   */
  report(finished: FinishedTask, only?: ReadonlySet<string>, onDone?: (reporter: string) => void): Promise<string[]>;
}

export interface JobOutcomeWatcherOptions {
  api: KubernetesApi;
  /** The runner Jobs' watch (`app=anton-runner`): it resumes after disconnects and relists when too old. */
  informer: JobInformer;
  policy: RetryPolicy;
  logger: Logger;
  /** This orchestrator, as written in the outcomes it records. */
  reporter: string;
  /** Gets each outcome once, in the orchestrator whose record of it won (or that took its reports over). */
  sink: OutcomeSink;
  /** How long a hold on a Job's reports lasts unless renewed (a third of it, while they are delivered). */
  leaseMs?: number;
  /** After a failure to record an outcome, the Jobs are looked at again this much later. */
  retryDelayMs?: number;
}

const DEFAULT_LEASE_MS = 60_000;

/** The reporters a Job's outcome is still owed to, as written on it. */
const owedOn = (job: V1Job): string[] =>
  (job.metadata?.annotations?.[ANNOTATIONS.reportsPending] ?? '').split(',').filter(Boolean);

/** When the hold on a Job's reports ends (0: none, or unreadable). */
const leaseEnd = (job: V1Job): number => Date.parse(job.metadata?.annotations?.[ANNOTATIONS.reportingUntil] ?? '') || 0;

/**
 * Follows every runner Job to its end. Whenever the watch changes, each finished Job without a
 * result is decided (its pods' termination message, its final condition) and its outcome written
 * on it, with the reporters it is owed to and a renewed hold on delivering them; the orchestrator
 * whose write wins reports it, then clears what was delivered. Nothing is remembered but what the
 * cluster holds, so a reconnect, a restart or a second replica finds every finished Job that still
 * lacks a result, and every report owed by an orchestrator that died or stopped before delivering
 * it (once its hold runs out): reports are delivered at least once, until the Job's TTL removes it.
 */
export class JobOutcomeWatcher {
  readonly #options: JobOutcomeWatcherOptions;
  readonly #leaseMs: number;
  /** Recording an outcome, or taking over its reports, by Job uid. */
  readonly #inFlight = new Map<string, Promise<void>>();
  /** Reports being delivered by this process, by Job uid, until their end is written on the Job. */
  readonly #delivering = new Map<string, Promise<void>>();
  /** Jobs handled by this process (recorded, or found unreportable), until they leave the watch. */
  #handled = new Set<string>();
  /** Jobs whose owed reports cannot be rebuilt (the task or its run is no longer readable), until they leave the watch. */
  #unreadable = new Set<string>();
  #wakeTimer: NodeJS.Timeout | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;
  #stopped = false;

  constructor(options: JobOutcomeWatcherOptions) {
    this.#options = options;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  start(): void {
    this.#options.informer.onChange(() => this.#scan());
    this.#scan();
  }

  /** Stops looking, and waits for the outcomes being recorded now. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#wakeTimer);
    await Promise.allSettled(this.#inFlight.values());
  }

  /** Waits until the reports under way have ended (after the report queue drained) and that is written on their Jobs. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#delivering.values());
  }

  #scan(): void {
    if (this.#stopped) return;
    const listed = new Set<string>();
    let nextLeaseEnd = Number.POSITIVE_INFINITY;
    for (const job of this.#options.informer.list()) {
      const uid = job.metadata?.uid;
      if (!uid) continue;
      listed.add(uid);
      if (!finalCondition(job) || this.#inFlight.has(uid) || this.#delivering.has(uid)) continue;
      let work: Promise<void> | undefined;
      if (!hasOutcome(job)) {
        if (!this.#handled.has(uid)) work = this.#record(job);
      } else if (owedOn(job).length > 0 && !this.#unreadable.has(uid)) {
        const end = leaseEnd(job);
        if (end <= Date.now()) work = this.#takeOver(job);
        else nextLeaseEnd = Math.min(nextLeaseEnd, end);
      }
      if (work) {
        this.#inFlight.set(uid, work);
        void work.finally(() => this.#inFlight.delete(uid));
      }
    }
    this.#handled = new Set([...this.#handled].filter((uid) => listed.has(uid)));
    this.#unreadable = new Set([...this.#unreadable].filter((uid) => listed.has(uid)));
    // A hold that runs out changes nothing the watch would see: look again then.
    if (Number.isFinite(nextLeaseEnd)) this.#wake(nextLeaseEnd - Date.now() + 50);
  }

  async #record(job: V1Job): Promise<void> {
    const { api, policy, reporter, sink } = this.#options;
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
      const owed = sink.owed(finished);
      const hold: Record<string, string> =
        owed.length > 0
          ? { [ANNOTATIONS.reportsPending]: owed.join(','), [ANNOTATIONS.reportingUntil]: this.#holdUntil() }
          : {};
      const recorded = await recordOutcome(api, job, finished.outcome, { reporter, policy, logger, annotations: hold });
      this.#handled.add(uid);
      if (recorded === 'recorded') {
        logger.info({ status, pr_url, reason }, 'runner finished: outcome recorded on the Job');
        this.#deliver(job, finished, owed, { takingOver: false, logger });
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

  /** Reports whose holder's lease ran out (it died, or stopped before delivering them): taken by a conditional write. */
  async #takeOver(job: V1Job): Promise<void> {
    const { api, policy, reporter } = this.#options;
    const uid = job.metadata?.uid ?? '';
    const logger = this.#jobLogger(job);
    const owed = owedOn(job);
    try {
      const finished = await this.#finished(job, logger);
      if (!finished) {
        logger.error({ owed }, 'reports owed for a Job whose task or run can no longer be read: not delivered');
        this.#unreadable.add(uid);
        return;
      }
      const resourceVersion = job.metadata?.resourceVersion;
      if (!resourceVersion) return;
      const patch = {
        resourceVersion,
        annotations: { [ANNOTATIONS.reportedBy]: reporter, [ANNOTATIONS.reportingUntil]: this.#holdUntil() },
      };
      try {
        await withRetry('take over reports', () => api.patchJobMetadata(job.metadata?.name ?? '', patch), {
          policy,
          logger,
        });
      } catch (err) {
        if (isConflict(err) || isNotFound(err)) return; // another orchestrator took them, or the Job is gone
        throw err;
      }
      logger.warn(
        { owed, previous: job.metadata?.annotations?.[ANNOTATIONS.reportedBy] },
        'reports another orchestrator left undelivered: taking them over',
      );
      this.#deliver(job, finished, owed, { takingOver: true, logger });
    } catch (err) {
      logger.warn({ err }, 'could not take over the reports of a finished Job; trying again');
      this.#retryLater();
    }
  }

  /**
   * Delivers what is `owed` (all of the outcome's reports, or what a taken-over Job still owed),
   * renewing the hold meanwhile, then writes on the Job what is left owed (nothing, or what a
   * shutdown left).
   */
  #deliver(
    job: V1Job,
    finished: FinishedTask,
    owedAtStart: readonly string[],
    { takingOver, logger }: { takingOver: boolean; logger: Logger },
  ): void {
    const { api, policy, sink } = this.#options;
    const uid = job.metadata?.uid ?? '';
    const name = job.metadata?.name ?? '';
    const renew = setInterval(() => {
      api.patchJobMetadata(name, { annotations: { [ANNOTATIONS.reportingUntil]: this.#holdUntil() } }).catch((err) => {
        if (!isNotFound(err)) logger.warn({ err }, 'could not renew the hold on the reports');
      });
    }, this.#leaseMs / 3);
    renew.unref();
    // Each reporter done with is struck off the Job as it happens (one write at a time, in order),
    // so a takeover after a crash repeats as little as it can.
    const owed = new Set(owedAtStart);
    let progress = Promise.resolve();
    const done = (reporter: string) => {
      owed.delete(reporter);
      if (owed.size === 0) return; // the final write below clears it
      const annotations = { [ANNOTATIONS.reportsPending]: [...owed].join(',') };
      progress = progress
        .then(() => api.patchJobMetadata(name, { annotations }))
        .then(
          () => undefined,
          (err) => logger.warn({ err }, 'could not strike a delivered report off the Job'),
        );
    };
    const work = sink
      .report(finished, takingOver ? new Set(owedAtStart) : undefined, done)
      .then(async (left) => {
        clearInterval(renew);
        await progress;
        // What a shutdown left is released at once (the hold ends now), for the next orchestrator.
        const holdEnds = this.#stopped ? new Date().toISOString() : this.#holdUntil();
        const annotations =
          left.length > 0
            ? { [ANNOTATIONS.reportsPending]: left.join(','), [ANNOTATIONS.reportingUntil]: holdEnds }
            : { [ANNOTATIONS.reportsPending]: null, [ANNOTATIONS.reportingUntil]: null };
        await withRetry('record the reports', () => api.patchJobMetadata(name, { annotations }), { policy, logger });
        if (left.length > 0) logger.warn({ owed: left }, 'reports left owed on the Job for the next orchestrator');
      })
      .catch((err) => {
        if (isNotFound(err)) return;
        // Left as it was: once the hold runs out, an orchestrator delivers what is still marked owed again.
        logger.error({ err }, 'could not write on the Job that its reports were delivered');
      })
      .finally(() => {
        clearInterval(renew);
        this.#delivering.delete(uid);
      });
    this.#delivering.set(uid, work);
  }

  /** The end of a hold taken now. */
  #holdUntil(): string {
    return new Date(Date.now() + this.#leaseMs).toISOString();
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
