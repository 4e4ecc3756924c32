import type { KindName, KubeObject } from './resources.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change, as etcd's revision history keeps it and watches replay it. */
export interface StoreEvent {
  type: EventType;
  kind: KindName;
  /** The object after the change (for DELETED: its last state, at the deletion's resourceVersion). */
  object: KubeObject;
  /** The object before the change, so a watch with a selector can tell an object leaving it. */
  previous?: KubeObject;
  resourceVersion: number;
}

export type HistoryAnswer = { events: StoreEvent[] } | { expired: number } | { tooLarge: true };

const keyOf = (kind: KindName, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;

/**
 * The fake's etcd: objects by kind/namespace/name, one cluster-wide revision counter that every
 * write bumps (the resourceVersion), and the history of changes that watches replay from.
 */
export class ObjectStore {
  /** Real clusters are never at revision 1; starting higher keeps "too old" versions meaningful. */
  #revision = 1000;
  #compactedAt = 1000;
  #objects = new Map<string, KubeObject>();
  /** uid → key, and owner uid → keys of the objects naming it: the garbage collector's lookups. */
  #keyByUid = new Map<string, string>();
  #keysByOwner = new Map<string, Set<string>>();
  #history: StoreEvent[] = [];
  #listeners = new Set<(event: StoreEvent) => void>();
  readonly namespaces = new Set<string>();

  get resourceVersion(): number {
    return this.#revision;
  }

  get(kind: KindName, namespace: string, name: string): KubeObject | undefined {
    const found = this.#objects.get(keyOf(kind, namespace, name));
    return found && structuredClone(found);
  }

  /** Objects of a kind, in one namespace or all, ordered by namespace and name as etcd keys are. */
  list(kind: KindName, namespace?: string): KubeObject[] {
    const prefix = namespace === undefined ? `${kind}/` : `${kind}/${namespace}/`;
    return [...this.#objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, obj]) => structuredClone(obj));
  }

  /** Whether an object with this uid exists (in `namespace`, when given). */
  hasUid(uid: string, namespace?: string): boolean {
    const key = this.#keyByUid.get(uid);
    const object = key === undefined ? undefined : this.#objects.get(key);
    return object !== undefined && (namespace === undefined || object.metadata.namespace === namespace);
  }

  /** The objects whose ownerReferences name `ownerUid`, in key order (as `list` orders them). */
  dependents(ownerUid: string): { kind: KindName; object: KubeObject }[] {
    return [...(this.#keysByOwner.get(ownerUid) ?? [])].sort().flatMap((key) => {
      const object = this.#objects.get(key);
      return object ? [{ kind: key.slice(0, key.indexOf('/')) as KindName, object: structuredClone(object) }] : [];
    });
  }

  create(kind: KindName, object: KubeObject): KubeObject {
    return this.#write('ADDED', kind, object);
  }

  update(kind: KindName, object: KubeObject): KubeObject {
    return this.#write('MODIFIED', kind, object);
  }

  remove(kind: KindName, namespace: string, name: string): KubeObject | undefined {
    const key = keyOf(kind, namespace, name);
    const previous = this.#objects.get(key);
    if (!previous) return undefined;
    this.#objects.delete(key);
    this.#unindex(key, previous);
    const object = structuredClone(previous);
    object.metadata.resourceVersion = String(++this.#revision);
    this.#emit({ type: 'DELETED', kind, object, previous, resourceVersion: this.#revision });
    return structuredClone(object);
  }

  /** The changes after `resourceVersion`, or why a watch cannot start there. */
  eventsAfter(resourceVersion: number): HistoryAnswer {
    if (resourceVersion < this.#compactedAt) return { expired: this.#compactedAt };
    if (resourceVersion > this.#revision) return { tooLarge: true };
    return { events: this.#history.filter((e) => e.resourceVersion > resourceVersion) };
  }

  /** Forgets the history, as etcd compaction does: watches from before now get 410 Gone. */
  compact(): void {
    this.#history = [];
    this.#compactedAt = this.#revision;
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #write(type: EventType, kind: KindName, input: KubeObject): KubeObject {
    const key = keyOf(kind, input.metadata.namespace ?? '', input.metadata.name ?? '');
    const previous = this.#objects.get(key);
    const object = structuredClone(input);
    object.metadata.resourceVersion = String(++this.#revision);
    this.#objects.set(key, object);
    if (previous) this.#unindex(key, previous);
    this.#index(key, object);
    this.#emit({ type, kind, object: structuredClone(object), previous, resourceVersion: this.#revision });
    return structuredClone(object);
  }

  #index(key: string, object: KubeObject): void {
    if (object.metadata.uid) this.#keyByUid.set(object.metadata.uid, key);
    for (const ref of object.metadata.ownerReferences ?? []) {
      const keys = this.#keysByOwner.get(ref.uid) ?? new Set<string>();
      keys.add(key);
      this.#keysByOwner.set(ref.uid, keys);
    }
  }

  #unindex(key: string, object: KubeObject): void {
    if (object.metadata.uid && this.#keyByUid.get(object.metadata.uid) === key)
      this.#keyByUid.delete(object.metadata.uid);
    for (const ref of object.metadata.ownerReferences ?? []) {
      const keys = this.#keysByOwner.get(ref.uid);
      keys?.delete(key);
      if (keys?.size === 0) this.#keysByOwner.delete(ref.uid);
    }
  }

  #emit(event: StoreEvent): void {
    this.#history.push(event);
    for (const listener of this.#listeners) listener(event);
  }
}
