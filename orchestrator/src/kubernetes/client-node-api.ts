import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiException,
  BatchV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  KubeConfig,
  makeInformer,
  Observable,
  PatchStrategy,
  type RequestContext,
  type ResponseContext,
  setHeaderOptions,
  type V1Job,
  VersionApi,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type JobInformer, type KubernetesApi, KubernetesError } from './kubernetes-api.ts';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * client-node 2 builds a new connection pool (an undici Agent) for every request to a cluster with
 * TLS settings (a CA, a client certificate, insecure-skip-tls-verify: always in a pod), so every
 * API call opened a new TCP and TLS connection. This KubeConfig keeps the first pool built for each
 * cluster and user, as client-node already does for its WebSocket agents, and gives it to every
 * later request: calls share kept-alive connections. The request's headers (a rotated service
 * account token included) are still applied per request by client-node itself.
 */
class ConnectionReusingKubeConfig extends KubeConfig {
  readonly #dispatchers = new Map<string, Dispatcher>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const built = context.getDispatcher();
    if (built === undefined) return;
    const key = JSON.stringify([this.getCurrentCluster()?.name ?? '', this.getCurrentUser()?.name ?? '']);
    const kept = this.#dispatchers.get(key);
    // The pool just built has not connected yet: dropping it costs nothing.
    if (kept) context.setDispatcher(kept);
    else this.#dispatchers.set(key, built);
  }
}

/** In-cluster config in a pod, else `KUBECONFIG` or ~/.kube/config, as kubectl does. */
export function loadKubeConfig(kubeconfigPath: string | undefined): KubeConfig {
  const config = new ConnectionReusingKubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  return config;
}

/**
 * Options for a create that the API server checks field by field: `fieldValidation=Strict` makes it
 * refuse (400) a field its types lack instead of dropping it, and the body goes out as given.
 * client-node serializes a typed body through its models, which silently drops every field they
 * do not declare (a misspelled `imagePullPolicyy` never reached the server): the raw JSON is put back.
 */
const strictBody = (body: object): ConfigurationOptions => ({
  middleware: [
    {
      pre: (context: RequestContext) => {
        context.setBody(JSON.stringify(body));
        return new Observable(Promise.resolve(context));
      },
      post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
    },
  ],
  middlewareMergeStrategy: 'append',
});
const STRICT = 'Strict';

/** KubernetesApi over @kubernetes/client-node, with the API's errors turned into KubernetesErrors. */
export function createKubernetesApi(config: KubeConfig, namespace: string, logger: Logger): KubernetesApi {
  const core = config.makeApiClient(CoreV1Api);
  const batch = config.makeApiClient(BatchV1Api);
  const version = config.makeApiClient(VersionApi);
  const orUndefined = async <T>(read: Promise<T>): Promise<T | undefined> => {
    try {
      return await read;
    } catch (err) {
      const error = toKubernetesError(err);
      if (error.status === 404) return undefined;
      throw error;
    }
  };
  const call = async <T>(promise: Promise<T>): Promise<T> => {
    try {
      return await promise;
    } catch (err) {
      throw toKubernetesError(err);
    }
  };

  return {
    namespace,
    serverVersion: () => call(version.getCode()),
    createConfigMap: (body) =>
      call(core.createNamespacedConfigMap({ namespace, body, fieldValidation: STRICT }, strictBody(body))),
    readConfigMap: (name) => orUndefined(core.readNamespacedConfigMap({ name, namespace })),
    listConfigMaps: async (labelSelector) =>
      (await call(core.listNamespacedConfigMap({ namespace, labelSelector }))).items,
    deleteConfigMap: async (name, uid) => {
      const body = uid === undefined ? undefined : { preconditions: { uid } };
      const deleted = await orUndefined(core.deleteNamespacedConfigMap({ name, namespace, ...(body && { body }) }));
      return deleted !== undefined;
    },
    patchConfigMapData: (name, { uid, data }) =>
      call(
        core.patchNamespacedConfigMap(
          { name, namespace, body: { metadata: { uid }, data } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      ),
    createJob: (body) =>
      call(batch.createNamespacedJob({ namespace, body, fieldValidation: STRICT }, strictBody(body))),
    readJob: (name) => orUndefined(batch.readNamespacedJob({ name, namespace })),
    listJobs: async (labelSelector) => (await call(batch.listNamespacedJob({ namespace, labelSelector }))).items,
    // A merge patch; with metadata.resourceVersion, the API server applies it only to that version.
    patchJobMetadata: (name, { resourceVersion, labels, annotations }) =>
      call(
        batch.patchNamespacedJob(
          { name, namespace, body: { metadata: { resourceVersion, labels, annotations } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      ),
    listPods: async (labelSelector) => (await call(core.listNamespacedPod({ namespace, labelSelector }))).items,
    watchJobs: (labelSelector) =>
      new ClientNodeJobInformer(config, namespace, labelSelector, () =>
        batch.listNamespacedJob({ namespace, labelSelector }),
      ).withLogger(logger),
  };
}

/**
 * client-node's informer (list, then watch from the list's resourceVersion; a relist when it is too
 * old), restarted with backoff after an error, which the informer itself does not do.
 */
class ClientNodeJobInformer implements JobInformer {
  readonly #informer;
  readonly #listeners: Array<() => void> = [];
  #logger: Logger | undefined;
  #synced = false;
  #stopped = false;
  #failures = 0;

  constructor(config: KubeConfig, namespace: string, labelSelector: string, list: () => Promise<{ items: V1Job[] }>) {
    this.#informer = makeInformer<V1Job>(
      config,
      `/apis/batch/v1/namespaces/${namespace}/jobs`,
      list as never,
      labelSelector,
    );
    const changed = () => {
      for (const listener of this.#listeners) listener();
    };
    this.#informer.on('add', changed);
    this.#informer.on('update', changed);
    this.#informer.on('delete', changed);
    this.#informer.on('error', (err) => void this.#restart(err));
  }

  withLogger(logger: Logger): this {
    this.#logger = logger;
    return this;
  }

  get synced(): boolean {
    return this.#synced;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    const failuresBefore = this.#failures;
    await this.#informer.start();
    if (this.#failures === failuresBefore && !this.#stopped) {
      this.#synced = true;
      this.#failures = 0;
      for (const listener of this.#listeners) listener();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#synced = false;
    await this.#informer.stop();
  }

  list(): readonly V1Job[] {
    return this.#informer.list();
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  async #restart(err: unknown): Promise<void> {
    this.#synced = false;
    this.#failures += 1;
    if (this.#stopped) return;
    const delay = Math.min(500 * 2 ** Math.min(this.#failures, 6), 30_000);
    this.#logger?.warn({ err, delay_ms: delay }, 'job watch failed, restarting');
    await sleep(delay);
    if (!this.#stopped) await this.start();
  }
}

/** Turns client-node's exceptions (status, a Status body as text, headers) into a KubernetesError. */
export function toKubernetesError(err: unknown): KubernetesError {
  if (err instanceof KubernetesError) return err;
  if (err instanceof ApiException) {
    const code = err.code as number;
    let status: { reason?: string; message?: string } = {};
    try {
      status = typeof err.body === 'string' ? JSON.parse(err.body) : (err.body ?? {});
    } catch {
      // not a Status object (a proxy's HTML page, say): the HTTP code still tells what to do
    }
    const headers = (err.headers ?? {}) as Record<string, string>;
    const retryAfter = Number(headers['retry-after'] ?? headers['Retry-After']);
    return new KubernetesError(
      `Kubernetes API ${code}${status.reason ? ` ${status.reason}` : ''}: ${status.message ?? ''}`,
      {
        status: code,
        ...(status.reason !== undefined && { reason: status.reason }),
        ...(Number.isFinite(retryAfter) && retryAfter >= 0 && { retryAfterMs: retryAfter * 1000 }),
        cause: err,
      },
    );
  }
  return new KubernetesError(`Kubernetes API unreachable: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
