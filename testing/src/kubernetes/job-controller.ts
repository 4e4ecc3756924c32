import type { GarbageCollector } from './garbage-collector.ts';
import { JOB_TRACKING_FINALIZER } from './garbage-collector.ts';
import {
  buildPod,
  defaultTarget,
  restartedStatus,
  runningStatus,
  type Termination,
  terminatedStatus,
} from './job-pods.ts';
import { condition, isFinished, isTerminal, SUCCESS_MESSAGE, spec, status } from './job-status.ts';
import type { ObjectStore } from './object-store.ts';
import { matchPodFailurePolicy } from './pod-failure-policy.ts';
import { type KubeObject, RESOURCES } from './resources.ts';
import { timestamp } from './system-fields.ts';
import type { WorkQueue } from './work-queue.ts';

type Json = Record<string, unknown>;

export type JobPhase = 'succeeded' | 'failed';

export interface JobPhaseOptions {
  /** Default 0 for succeeded, 1 for failed. */
  exitCode?: number;
  /** The container's termination message: what a runner writes to /dev/termination-log. */
  terminationMessage?: string;
  /** The container's terminated reason (default Completed / Error), e.g. OOMKilled. */
  reason?: string;
  /** The container that exits with `exitCode` (default `agent`, else the first container). */
  container?: string;
}

export interface ScriptedOutcome extends JobPhaseOptions {
  phase: JobPhase;
  /** Wait this long after the pod runs (default: on the next turn of the event loop). */
  delayMs?: number;
}

/** Finish every Job's pods the same way, or decide per Job (undefined: leave it running). */
export type AutoComplete = ScriptedOutcome | ((job: KubeObject) => ScriptedOutcome | undefined);

function termination(phase: JobPhase, options: JobPhaseOptions): Termination {
  const exitCode = options.exitCode ?? (phase === 'succeeded' ? 0 : 1);
  if ((exitCode === 0) !== (phase === 'succeeded')) throw new Error(`exit code ${exitCode} does not mean ${phase}`);
  return {
    exitCode,
    ...(options.terminationMessage === undefined ? {} : { message: options.terminationMessage }),
    ...(options.reason === undefined ? {} : { reason: options.reason }),
  };
}

/**
 * The Job controller and the kubelet, scripted: a created Job gets its pods (Pending, then
 * Running); a test then ends a pod with an exit code and a termination message, and the Job's
 * status follows as the real controller writes it (backoffLimit, podFailurePolicy, the interim
 * SuccessCriteriaMet/FailureTarget conditions, ttlSecondsAfterFinished).
 */
export class JobController {
  readonly #store: ObjectStore;
  readonly #queue: WorkQueue;
  readonly #gc: GarbageCollector;
  readonly #autoComplete: AutoComplete | undefined;
  #podsStarted = 0;

  constructor(store: ObjectStore, queue: WorkQueue, gc: GarbageCollector, autoComplete?: AutoComplete) {
    this.#store = store;
    this.#queue = queue;
    this.#gc = gc;
    this.#autoComplete = autoComplete;
    store.subscribe((event) => {
      if (event.kind !== 'Job' || event.type === 'DELETED') return;
      const { namespace = '', name = '' } = event.object.metadata;
      const resumed = event.previous && spec(event.previous).suspend === true && spec(event.object).suspend !== true;
      if (event.type === 'ADDED' || resumed) this.#queue.later(() => this.#sync(namespace, name));
    });
  }

  /** Ends the oldest running pod of a Job with `phase`, and updates the Job as its controller would. */
  setPhase(
    namespace: string,
    name: string,
    phase: JobPhase,
    options: JobPhaseOptions = {},
  ): { job: KubeObject; pod: KubeObject } {
    this.#queue.flush();
    const job = this.#job(namespace, name);
    if (isFinished(job)) throw new Error(`Job ${namespace}/${name} has already finished`);
    const pod = this.#activePods(job).find((p) => status(p).phase === 'Running');
    if (!pod) throw new Error(`Job ${namespace}/${name} has no running pod`);
    const ended = this.#terminate(job, pod, termination(phase, options), options.container);
    this.#queue.flush();
    return { job: this.#job(namespace, name), pod: ended };
  }

  /** What activeDeadlineSeconds does when it runs out. */
  exceedDeadline(namespace: string, name: string): KubeObject {
    this.#queue.flush();
    this.#fail(this.#job(namespace, name), 'DeadlineExceeded', 'Job was active longer than specified deadline');
    this.#queue.flush();
    return this.#job(namespace, name);
  }

  #job(namespace: string, name: string): KubeObject {
    const job = this.#store.get('Job', namespace, name);
    if (!job) throw new Error(`no Job ${namespace}/${name}`);
    return job;
  }

  #ownPods(job: KubeObject): KubeObject[] {
    return this.#store
      .dependents(job.metadata.uid ?? '')
      .filter(({ kind, object }) => kind === 'Pod' && object.metadata.namespace === job.metadata.namespace)
      .map(({ object }) => object);
  }

  #activePods(job: KubeObject): KubeObject[] {
    return this.#ownPods(job).filter((p) => !isTerminal(p) && !p.metadata.deletionTimestamp);
  }

  #writeStatus(job: KubeObject, changes: Json): KubeObject {
    const current = this.#job(job.metadata.namespace ?? '', job.metadata.name ?? '');
    const active = this.#activePods(current);
    const ready = active.filter((p) => status(p).phase === 'Running').length;
    const next: Json = {
      ...status(current),
      active: active.length,
      ready,
      terminating: 0,
      uncountedTerminatedPods: {},
      ...changes,
    };
    // The counters are `omitempty` in the Go type: a zero is not sent.
    for (const key of ['active', 'succeeded', 'failed']) if (next[key] === 0) delete next[key];
    current.status = next;
    return this.#store.update('Job', current);
  }

  /** Creates the pods a Job lacks, and starts them. */
  #sync(namespace: string, name: string): void {
    const job = this.#store.get('Job', namespace, name);
    if (!job || job.metadata.deletionTimestamp || isFinished(job) || spec(job).suspend === true) return;
    const completions = Number(spec(job).completions ?? 1);
    const parallelism = Number(spec(job).parallelism ?? 1);
    const succeeded = Number(status(job).succeeded ?? 0);
    const missing = Math.min(parallelism, completions - succeeded) - this.#activePods(job).length;
    const created: KubeObject[] = [];
    for (let i = 0; i < missing; i += 1) created.push(this.#store.create('Pod', buildPod(job)));
    this.#writeStatus(job, { startTime: status(job).startTime ?? timestamp() });
    for (const pod of created) this.#queue.later(() => this.#start(job, pod));
  }

  #start(job: KubeObject, created: KubeObject): void {
    const pod = this.#store.get('Pod', created.metadata.namespace ?? '', created.metadata.name ?? '');
    if (!pod || pod.metadata.deletionTimestamp) return;
    pod.status = runningStatus(pod, this.#podsStarted++);
    this.#store.update('Pod', pod);
    if (this.#store.get('Job', job.metadata.namespace ?? '', job.metadata.name ?? '')) this.#writeStatus(job, {});
    const outcome = typeof this.#autoComplete === 'function' ? this.#autoComplete(job) : this.#autoComplete;
    if (!outcome) return;
    const finish = () => {
      const current = this.#store.get('Pod', pod.metadata.namespace ?? '', pod.metadata.name ?? '');
      const owner = this.#store.get('Job', job.metadata.namespace ?? '', job.metadata.name ?? '');
      if (!current || !owner || isTerminal(current) || current.metadata.deletionTimestamp || isFinished(owner)) return;
      this.#terminate(owner, current, termination(outcome.phase, outcome), outcome.container);
    };
    if (outcome.delayMs === undefined) this.#queue.later(finish);
    else this.#queue.after(outcome.delayMs, finish);
  }

  #terminate(job: KubeObject, pod: KubeObject, ending: Termination, container?: string): KubeObject {
    const target = container ?? defaultTarget(pod);
    const failed = ending.exitCode !== 0;
    if (failed && (pod.spec as Json).restartPolicy === 'OnFailure') {
      // The kubelet restarts the container in place; the Job counts restarts towards backoffLimit.
      pod.status = restartedStatus(pod, target, ending);
      const restarted = this.#store.update('Pod', pod);
      const restarts = this.#ownPods(job)
        .flatMap((p) => (status(p).containerStatuses as Json[] | undefined) ?? [])
        .reduce((sum, s) => sum + Number(s.restartCount ?? 0), 0);
      if (restarts > Number(spec(job).backoffLimit ?? 6))
        this.#fail(job, 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
      return restarted;
    }
    pod.status = terminatedStatus(pod, target, ending);
    const ended = this.#store.update('Pod', pod);
    // The controller counts the pod, then lets it go.
    ended.metadata.finalizers = (ended.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER);
    const released = this.#store.update('Pod', ended);
    if (!failed) this.#succeed(job);
    else {
      const verdict = matchPodFailurePolicy(spec(job).podFailurePolicy as Json | undefined, released);
      const failedCount = Number(status(job).failed ?? 0) + (verdict.countFailed ? 1 : 0);
      if (verdict.action === 'FailJob') {
        this.#fail(job, 'PodFailurePolicy', verdict.message ?? '', failedCount);
      } else if (failedCount > Number(spec(job).backoffLimit ?? 6)) {
        this.#fail(job, 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', failedCount);
      } else {
        this.#writeStatus(job, verdict.countFailed ? { failed: failedCount } : {});
        this.#queue.later(() => this.#sync(job.metadata.namespace ?? '', job.metadata.name ?? ''));
      }
    }
    return released;
  }

  #succeed(job: KubeObject): void {
    const succeeded =
      Number(status(this.#job(job.metadata.namespace ?? '', job.metadata.name ?? '')).succeeded ?? 0) + 1;
    if (succeeded < Number(spec(job).completions ?? 1)) {
      this.#writeStatus(job, { succeeded });
      this.#queue.later(() => this.#sync(job.metadata.namespace ?? '', job.metadata.name ?? ''));
      return;
    }
    const met = condition('SuccessCriteriaMet', 'CompletionsReached', SUCCESS_MESSAGE);
    const current = this.#writeStatus(job, { succeeded, conditions: [...this.#conditions(job), met] });
    const complete = condition('Complete', 'CompletionsReached', SUCCESS_MESSAGE);
    this.#writeStatus(current, { completionTime: timestamp(), conditions: [...this.#conditions(current), complete] });
    this.#afterFinished(current);
  }

  #fail(job: KubeObject, reason: string, message: string, failed?: number): void {
    const counters = failed === undefined ? {} : { failed };
    const target = condition('FailureTarget', reason, message);
    const current = this.#writeStatus(job, { ...counters, conditions: [...this.#conditions(job), target] });
    // The remaining pods are terminated; the Failed condition comes once they are gone.
    for (const pod of this.#activePods(current)) {
      this.#gc.delete(RESOURCES.Pod, pod.metadata.namespace ?? '', pod.metadata.name ?? '', {
        propagation: 'Background',
        dryRun: false,
      });
    }
    this.#queue.later(() => {
      const latest = this.#store.get('Job', job.metadata.namespace ?? '', job.metadata.name ?? '');
      if (!latest) return;
      const failedCondition = condition('Failed', reason, message);
      this.#writeStatus(latest, { conditions: [...this.#conditions(latest), failedCondition] });
      this.#afterFinished(latest);
    });
  }

  #conditions(job: KubeObject): Json[] {
    const latest = this.#store.get('Job', job.metadata.namespace ?? '', job.metadata.name ?? '') ?? job;
    return (status(latest).conditions as Json[] | undefined) ?? [];
  }

  /** ttlSecondsAfterFinished: the TTL controller deletes the Job (and, in the foreground, its pods). */
  #afterFinished(job: KubeObject): void {
    const ttl = spec(job).ttlSecondsAfterFinished;
    if (typeof ttl !== 'number') return;
    const { namespace = '', name = '', uid } = job.metadata;
    this.#queue.after(ttl * 1000, () => {
      if (this.#store.get('Job', namespace, name)?.metadata.uid !== uid) return;
      this.#gc.delete(RESOURCES.Job, namespace, name, {
        propagation: 'Foreground',
        preconditions: uid === undefined ? {} : { uid },
        dryRun: false,
      });
    });
  }
}
