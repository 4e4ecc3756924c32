import type { V1ConfigMap, V1Job, V1Pod } from '@kubernetes/client-node';
import type { ServerVersion } from './server-version.ts';

/**
 * The orchestrator's whole use of the Kubernetes API, in one namespace. The dispatcher, the
 * deduplication claims and the Job watch (backpressure and outcomes) all go through it, so tests
 * and other callers can swap the client.
 */
export interface KubernetesApi {
  readonly namespace: string;
  /** The API server's `/version`. */
  serverVersion(): Promise<ServerVersion>;
  createConfigMap(body: V1ConfigMap): Promise<V1ConfigMap>;
  readConfigMap(name: string): Promise<V1ConfigMap | undefined>;
  listConfigMaps(labelSelector: string): Promise<V1ConfigMap[]>;
  /** Deletes only the object with this uid (so a newer object of the same name survives); false when gone already. */
  deleteConfigMap(name: string, uid?: string): Promise<boolean>;
  /** Merges `data` into a ConfigMap, only while it is the object with `uid` (409 otherwise). */
  patchConfigMapData(name: string, changes: { uid: string; data: Record<string, string> }): Promise<V1ConfigMap>;
  createJob(body: V1Job): Promise<V1Job>;
  readJob(name: string): Promise<V1Job | undefined>;
  listJobs(labelSelector: string): Promise<V1Job[]>;
  /**
   * Merges labels and annotations into a Job's metadata, only while the Job is still at
   * `resourceVersion` (optimistic concurrency: 409 Conflict when someone wrote it meanwhile).
   */
  patchJobMetadata(name: string, changes: JobMetadataPatch): Promise<V1Job>;
  listPods(labelSelector: string): Promise<V1Pod[]>;
  /** A list-then-watch cache of the Jobs matching the selector, resuming after disconnects. */
  watchJobs(labelSelector: string): JobInformer;
}

/** A JSON merge patch of a Job's metadata: `null` removes a key; a resourceVersion makes it conditional. */
export interface JobMetadataPatch {
  resourceVersion?: string;
  labels?: Record<string, string | null>;
  annotations?: Record<string, string | null>;
}

export interface JobInformer {
  /** Lists, then watches; resolves once the first list is in (or failed, then it keeps trying). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The Jobs as last seen. */
  list(): readonly V1Job[];
  /** Called after every add, update, delete or relist. */
  onChange(listener: () => void): void;
  /** True once listed and watching; false while reconnecting. */
  readonly synced: boolean;
}

/** An API call that failed, with what the caller needs to decide: status, Status reason, retry-after. */
export class KubernetesError extends Error {
  override name = 'KubernetesError';
  /** HTTP status; undefined when no answer came (connection refused, reset, timeout). */
  readonly status: number | undefined;
  /** The Status object's reason, e.g. AlreadyExists, NotFound, Conflict, Invalid. */
  readonly reason: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    {
      status,
      reason,
      retryAfterMs,
      cause,
    }: { status?: number; reason?: string; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, { cause });
    this.status = status;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }

  /** No answer, throttled, or a server-side failure: worth another try. */
  get retryable(): boolean {
    return this.status === undefined || this.status === 429 || this.status >= 500;
  }
}

export const isAlreadyExists = (err: unknown): boolean => err instanceof KubernetesError && err.status === 409;
export const isNotFound = (err: unknown): boolean => err instanceof KubernetesError && err.status === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubernetesError && err.status === 409;
