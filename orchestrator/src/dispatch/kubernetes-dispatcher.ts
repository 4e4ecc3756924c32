import { CONTEXT_FILE, LABELS, OutcomeStatus } from '@anton/contracts';
import type { V1ConfigMap, V1Job } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { RunnerStatus } from '../dedup.ts';
import { PermanentError, RetryableError } from '../errors.ts';
import { isAlreadyExists, type KubernetesApi, KubernetesError } from '../kubernetes/kubernetes-api.ts';
import { type RetryPolicy, withRetry } from '../kubernetes/with-retry.ts';
import { runnerStatusOf } from '../outcomes/claim-policy.ts';
import { type JobRenderer, type JobSettings, jobLabels, kubernetesNames } from '../render-job.ts';
import { buildRunnerContext } from '../runner-context.ts';
import type { Dispatcher, DispatchRequest, DispatchResult } from './dispatcher.ts';

/**
 * Starts a runner as a Kubernetes Job with its context ConfigMap.
 *
 * Order: the Job first, then the ConfigMap, created already owned by the Job (its uid comes back
 * from the create). So nothing is ever without an owner: a crash between the two leaves a Job
 * whose pod waits for its volume; the redelivered message gets 409 for the Job, reads its uid and
 * creates the ConfigMap, and the pod starts. Should the message never come back, the Job runs
 * into activeDeadlineSeconds, fails, and is cleaned up with everything it owns. (The other order,
 * ConfigMap then Job then an owner patch, leaves an ownerless ConfigMap behind on a crash before
 * the patch.) In the normal case the ConfigMap exists milliseconds after the Job, before the
 * kubelet first mounts the pod's volumes.
 */
export class KubernetesDispatcher implements Dispatcher {
  readonly #api: KubernetesApi;
  readonly #renderer: JobRenderer;
  readonly #settings: JobSettings;
  readonly #retry: RetryPolicy;
  readonly #logger: Logger;

  constructor(options: {
    api: KubernetesApi;
    renderer: JobRenderer;
    settings: JobSettings;
    retry: RetryPolicy;
    logger: Logger;
  }) {
    this.#api = options.api;
    this.#renderer = options.renderer;
    this.#settings = options.settings;
    this.#retry = options.retry;
    this.#logger = options.logger;
  }

  runnerName(taskId: string): string {
    return kubernetesNames(taskId).job;
  }

  async dispatch(request: DispatchRequest, logger: Logger): Promise<DispatchResult> {
    const jobRequest = {
      task: request.task,
      templateId: request.plan.template_id,
      complexity: request.plan.complexity,
      routedBy: request.routedBy,
      repositoryUrl: request.repository.url,
      dedupHash: request.dedupHash,
    };
    let job: V1Job;
    let context: string;
    try {
      job = this.#renderer.render(jobRequest, this.#settings);
      // Before anything is created: a context that cannot be written would leave a Job waiting forever.
      context = `${JSON.stringify(buildRunnerContext(request), null, 2)}\n`;
    } catch (err) {
      throw new PermanentError(`cannot build the Job: ${(err as Error).message}`, { cause: err });
    }
    const names = kubernetesNames(request.task.task_id);
    const policy = { policy: this.#retry, logger };

    let created = true;
    let uid: string | undefined;
    try {
      uid = (await withRetry('create Job', () => this.#api.createJob(job), policy)).metadata?.uid;
    } catch (err) {
      if (!isAlreadyExists(err)) throw classify(err, 'create the Job');
      created = false;
      const existing = await withRetry('read Job', () => this.#api.readJob(names.job), policy).catch((e) => {
        throw classify(e, 'read the existing Job');
      });
      uid = existing?.metadata?.uid;
    }
    if (!uid) throw new RetryableError(`Job ${names.job} has no uid (deleted meanwhile?)`);

    const configMap: V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: names.configMap,
        namespace: this.#settings.namespace,
        labels: jobLabels(jobRequest),
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: names.job, uid, controller: true }],
      },
      data: { [CONTEXT_FILE]: context },
    };
    try {
      await withRetry('create ConfigMap', () => this.#api.createConfigMap(configMap), policy);
    } catch (err) {
      // Already there: this task got that far before (a redelivery); its content is the same task's.
      if (!isAlreadyExists(err)) throw classify(err, 'create the context ConfigMap');
    }
    logger.info(
      { job: names.job, created, template_id: request.plan.template_id },
      created ? 'Job created' : 'Job exists',
    );
    return { runnerName: names.job, created };
  }

  /**
   * By the outcome recorded on the Job (its `anton.dev/result` label). A Job without one is running,
   * or has just ended and the Job watcher is deciding its outcome: active either way.
   */
  async status(taskId: string): Promise<RunnerStatus> {
    const job = await withRetry('read Job', () => this.#api.readJob(this.runnerName(taskId)), {
      policy: this.#retry,
      logger: this.#logger,
    });
    if (!job) return 'missing';
    const result = OutcomeStatus.safeParse(job.metadata?.labels?.[LABELS.result]);
    return result.success ? runnerStatusOf(result.data) : 'active';
  }
}

/** 400/422: the object is wrong and will stay wrong. Anything else may pass on another attempt. */
function classify(err: unknown, what: string): Error {
  const message = `cannot ${what}: ${(err as Error).message}`;
  if (err instanceof KubernetesError && (err.status === 400 || err.status === 422)) {
    return new PermanentError(message, { cause: err });
  }
  return new RetryableError(message, { cause: err });
}
