import type { ObjectStore, StoreEvent } from './object-store.ts';
import { type KindName, type KubeObject, RESOURCES, type ResourceType } from './resources.ts';
import { conflict, notFound } from './status.ts';
import { timestamp } from './system-fields.ts';
import type { WorkQueue } from './work-queue.ts';

export type Propagation = 'Orphan' | 'Background' | 'Foreground';

export interface DeleteRequest {
  propagation?: Propagation;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun: boolean;
}

/** What a DELETE that removed the object at once answers (the store's finalizeDelete: no code). */
export interface SuccessStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success';
  details: { name: string; group?: string; kind: string; uid?: string };
}

export interface DeleteAnswer {
  body: KubeObject | SuccessStatus;
  /** The `Warning` header the server adds (batch/v1 Jobs deleted without a propagation policy). */
  warning?: string;
}

const ORPHAN = 'orphan';
const FOREGROUND = 'foregroundDeletion';
/** The finalizer the Job controller puts on its pods, and removes once it has counted them. */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';

const JOB_ORPHAN_WARNING =
  '299 - "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"';

/**
 * Deletion as the API server and the garbage collector do it: propagation policies through the
 * `orphan` and `foregroundDeletion` finalizers, dependents found by ownerReferences, graceful pod
 * termination. Work that a controller would do after the DELETE has answered is queued.
 */
export class GarbageCollector {
  readonly #store: ObjectStore;
  readonly #queue: WorkQueue;

  constructor(store: ObjectStore, queue: WorkQueue) {
    this.#store = store;
    this.#queue = queue;
    store.subscribe((event: StoreEvent) => {
      const { uid = '', namespace = '', name = '', ownerReferences } = event.object.metadata;
      if (event.type === 'DELETED') this.#queue.later(() => this.#collectDependents(uid));
      // An object created with owners that do not exist (any more) is collected too.
      if (event.type === 'ADDED' && ownerReferences?.length) {
        this.#queue.later(() => this.#collectIfOrphaned(event.kind, namespace, name));
      }
    });
  }

  delete(type: ResourceType, namespace: string, name: string, request: DeleteRequest): DeleteAnswer {
    const current = this.#store.get(type.kind, namespace, name);
    if (!current) throw notFound(type, name);
    const { uid, resourceVersion } = request.preconditions ?? {};
    if (uid && uid !== current.metadata.uid) {
      throw conflict(
        type,
        name,
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    if (resourceVersion && resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(
        type,
        name,
        `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      );
    }
    // batch/v1 keeps its pre-garbage-collector default: a Job deleted without a policy orphans its pods.
    const defaulted = request.propagation === undefined && type.kind === 'Job';
    const propagation = request.propagation ?? (defaulted ? 'Orphan' : 'Background');
    const answer = this.#delete(type, current, propagation, request.dryRun);
    return defaulted ? { ...answer, warning: JOB_ORPHAN_WARNING } : answer;
  }

  #delete(type: ResourceType, current: KubeObject, propagation: Propagation, dryRun: boolean): DeleteAnswer {
    const meta = current.metadata;
    if (meta.deletionTimestamp) return { body: current };
    const finalizers = [...(meta.finalizers ?? [])];
    if (propagation === 'Orphan') finalizers.push(ORPHAN);
    if (propagation === 'Foreground') finalizers.push(FOREGROUND);
    const phase = (current.status as { phase?: string } | undefined)?.phase;
    const graceful = type.kind === 'Pod' && phase !== 'Succeeded' && phase !== 'Failed';
    if (finalizers.length === 0 && !graceful) {
      if (dryRun) return { body: this.#success(type, current) };
      const removed = this.#store.remove(type.kind, meta.namespace ?? '', meta.name ?? '') ?? current;
      // Pods answer with the deleted object; the other kinds with a Status.
      return { body: type.kind === 'Pod' ? removed : this.#success(type, removed) };
    }
    const deleting = structuredClone(current);
    deleting.metadata.deletionTimestamp = timestamp();
    deleting.metadata.deletionGracePeriodSeconds = graceful ? 30 : 0;
    deleting.metadata.finalizers = finalizers;
    if (deleting.metadata.generation !== undefined) deleting.metadata.generation += 1;
    if (dryRun) return { body: deleting };
    const stored = this.#store.update(type.kind, deleting);
    this.#queue.later(() => this.#finish(type.kind, meta.namespace ?? '', meta.name ?? ''));
    return { body: stored };
  }

  /** What the controllers do with an object marked for deletion, until it is gone. */
  #finish(kind: KindName, namespace: string, name: string): void {
    const obj = this.#store.get(kind, namespace, name);
    if (!obj?.metadata.deletionTimestamp) return;
    const uid = obj.metadata.uid ?? '';
    const finalizers = obj.metadata.finalizers ?? [];
    for (const dependent of this.#store.dependents(uid)) {
      if (finalizers.includes(ORPHAN)) this.#dropOwner(dependent.kind, dependent.object, uid);
      else if (finalizers.includes(FOREGROUND)) this.#deleteDependent(dependent.kind, dependent.object, 'Foreground');
    }
    if (finalizers.includes(FOREGROUND) && this.#store.dependents(uid).length > 0) {
      // Blocking dependents still terminating: the owner waits for them (polling, so that a
      // dependent held by a finalizer nobody removes cannot spin the queue).
      this.#queue.after(5, () => this.#finish(kind, namespace, name));
      return;
    }
    // The kubelet has stopped a deleted pod, and the Job controller has counted it.
    const remaining = finalizers.filter((f) => f !== ORPHAN && f !== FOREGROUND && f !== JOB_TRACKING_FINALIZER);
    if (remaining.length > 0) {
      obj.metadata.finalizers = remaining;
      this.#store.update(kind, obj);
    } else this.#store.remove(kind, namespace, name);
  }

  /** Background collection: dependents of a deleted owner go too, unless another owner remains. */
  #collectDependents(ownerUid: string): void {
    for (const { kind, object } of this.#store.dependents(ownerUid)) {
      const others = (object.metadata.ownerReferences ?? []).filter(
        (ref) => ref.uid !== ownerUid && this.#store.hasUid(ref.uid),
      );
      if (others.length > 0) this.#dropOwner(kind, object, ownerUid);
      else this.#deleteDependent(kind, object, 'Background');
    }
  }

  #collectIfOrphaned(kind: KindName, namespace: string, name: string): void {
    const object = this.#store.get(kind, namespace, name);
    const refs = object?.metadata.ownerReferences ?? [];
    if (!object || object.metadata.deletionTimestamp) return;
    const dangling = refs.filter((ref) => !this.#store.hasUid(ref.uid, namespace));
    if (dangling.length === refs.length) this.#deleteDependent(kind, object, 'Background');
    else for (const ref of dangling) this.#dropOwner(kind, this.#store.get(kind, namespace, name) ?? object, ref.uid);
  }

  #deleteDependent(kind: KindName, object: KubeObject, propagation: Propagation): void {
    const current = this.#store.get(kind, object.metadata.namespace ?? '', object.metadata.name ?? '');
    if (current) this.#delete(RESOURCES[kind], current, propagation, false);
  }

  #dropOwner(kind: KindName, object: KubeObject, ownerUid: string): void {
    const updated = structuredClone(object);
    updated.metadata.ownerReferences = (updated.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== ownerUid);
    if (updated.metadata.ownerReferences.length === 0) delete updated.metadata.ownerReferences;
    this.#store.update(kind, updated);
  }

  #success(type: ResourceType, obj: KubeObject): SuccessStatus {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name: obj.metadata.name ?? '',
        ...(type.group ? { group: type.group } : {}),
        kind: type.plural,
        ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
      },
    };
  }
}
