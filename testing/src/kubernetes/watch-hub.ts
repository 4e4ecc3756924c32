import type { ServerResponse } from 'node:http';
import {
  type FieldRequirement,
  fieldOf,
  matchesFields,
  matchesRequirements,
  type Requirement,
} from './label-selector.ts';
import type { ObjectStore, StoreEvent } from './object-store.ts';
import type { KubeObject, ResourceType } from './resources.ts';
import { expired, failure, type Status } from './status.ts';

export interface WatchRequest {
  type: ResourceType;
  /** Undefined: every namespace. */
  namespace?: string;
  labels: Requirement[];
  fields: FieldRequirement[];
  /** The `resourceVersion` parameter: unset or "0" start with the current state, else replay after it. */
  resourceVersion?: string;
  bookmarks: boolean;
  /** `sendInitialEvents=true`: the current state, then a bookmark marking its end. */
  sendInitialEvents: boolean;
  timeoutSeconds?: number;
}

interface OpenWatch {
  request: WatchRequest;
  res: ServerResponse;
  timer?: NodeJS.Timeout;
}

type WireEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: KubeObject | Status };

/**
 * Open watch streams: each a chunked HTTP response of one JSON event per line, the way the API
 * server streams `?watch=true` (and the way @kubernetes/client-node's Watch reads it, by line).
 */
export class WatchHub {
  readonly #store: ObjectStore;
  readonly #watches = new Set<OpenWatch>();

  constructor(store: ObjectStore) {
    this.#store = store;
    store.subscribe((event) => {
      for (const watch of this.#watches) {
        const wire = this.#translate(watch.request, event);
        if (wire) this.#send(watch, wire);
      }
    });
  }

  get open(): number {
    return this.#watches.size;
  }

  start(request: WatchRequest, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    const watch: OpenWatch = { request, res };
    const rv = request.resourceVersion;
    if (rv === undefined || rv === '' || rv === '0' || request.sendInitialEvents) {
      // Synthetic ADDED events for what exists now, then the changes from here on.
      for (const object of this.#store.list(request.type.kind, request.namespace)) {
        if (this.#matches(request, object)) this.#send(watch, { type: 'ADDED', object });
      }
      if (request.sendInitialEvents && request.bookmarks) {
        this.#send(watch, {
          type: 'BOOKMARK',
          object: this.#bookmark(request.type, { 'k8s.io/initial-events-end': 'true' }),
        });
      }
    } else {
      const answer = this.#store.eventsAfter(Number(rv));
      if ('expired' in answer) {
        this.#fail(watch, expired(Number(rv), answer.expired));
        return;
      }
      if ('tooLarge' in answer) {
        this.#fail(
          watch,
          failure(504, 'Timeout', `Too large resource version: ${rv}, current: ${this.#store.resourceVersion}`, {
            causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
            retryAfterSeconds: 1,
          }),
        );
        return;
      }
      for (const event of answer.events) {
        const wire = this.#translate(request, event);
        if (wire) this.#send(watch, wire);
      }
    }
    this.#watches.add(watch);
    res.on('close', () => this.#forget(watch));
    if (request.timeoutSeconds !== undefined) {
      // The server ends a watch cleanly when its timeout runs out; the client then watches again.
      watch.timer = setTimeout(() => {
        this.#forget(watch);
        res.end();
      }, request.timeoutSeconds * 1000);
    }
  }

  /** Sends a BOOKMARK at the current resourceVersion to every watch that allowed bookmarks. */
  bookmark(): void {
    for (const watch of this.#watches) {
      if (watch.request.bookmarks) this.#send(watch, { type: 'BOOKMARK', object: this.#bookmark(watch.request.type) });
    }
  }

  /** Ends every open watch cleanly, as the server does when a watch's timeout runs out. */
  end(): number {
    const count = this.#watches.size;
    for (const watch of [...this.#watches]) {
      this.#forget(watch);
      watch.res.end();
    }
    return count;
  }

  /** Cuts every open watch connection without ending its response (a dropped connection). */
  drop(): number {
    const count = this.#watches.size;
    for (const watch of [...this.#watches]) {
      this.#forget(watch);
      watch.res.socket?.destroy();
    }
    return count;
  }

  #forget(watch: OpenWatch): void {
    clearTimeout(watch.timer);
    this.#watches.delete(watch);
  }

  #fail(watch: OpenWatch, status: Status): void {
    this.#send(watch, { type: 'ERROR', object: status });
    watch.res.end();
  }

  #send(watch: OpenWatch, event: WireEvent): void {
    if (!watch.res.writableEnded) watch.res.write(`${JSON.stringify(event)}\n`);
  }

  #bookmark(type: ResourceType, annotations?: Record<string, string>): KubeObject {
    return {
      kind: type.kind,
      apiVersion: type.apiVersion,
      metadata: { resourceVersion: String(this.#store.resourceVersion), ...(annotations ? { annotations } : {}) },
    };
  }

  #matches(request: WatchRequest, obj: KubeObject): boolean {
    return (
      (request.namespace === undefined || obj.metadata.namespace === request.namespace) &&
      matchesRequirements(request.labels, obj.metadata.labels) &&
      matchesFields(request.fields, (field) => fieldOf(obj, request.type.selectableFields, field))
    );
  }

  /** An object that stops (starts) matching the selector leaves (enters) the watch as DELETED (ADDED). */
  #translate(request: WatchRequest, event: StoreEvent): WireEvent | undefined {
    if (event.kind !== request.type.kind) return undefined;
    const now = this.#matches(request, event.object);
    const before = event.previous !== undefined && this.#matches(request, event.previous);
    if (event.type === 'ADDED') return now ? { type: 'ADDED', object: event.object } : undefined;
    if (event.type === 'DELETED') return before ? { type: 'DELETED', object: event.object } : undefined;
    if (before && now) return { type: 'MODIFIED', object: event.object };
    if (now) return { type: 'ADDED', object: event.object };
    if (before) return { type: 'DELETED', object: event.object };
    return undefined;
  }
}
