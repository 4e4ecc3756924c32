import type { ServerResponse } from 'node:http';
import { type RecordedRequest, sendJson } from '../fake-http-server.ts';
import { apiGroup, apiResourceList } from './discovery.ts';
import type { GarbageCollector } from './garbage-collector.ts';
import type { ObjectApi } from './object-api.ts';
import type { ObjectStore } from './object-store.ts';
import {
  bodyOf,
  continueKey,
  continueToken,
  deleteRequestOf,
  fieldValidationOf,
  flag,
  isDryRun,
  type Selection,
  selectionOf,
  selects,
} from './request-parsing.ts';
import { type KubeObject, type ResourceType, resourceByPlural } from './resources.ts';
import { badRequest, failure, forbidden, notFound, StatusError } from './status.ts';
import type { WatchHub } from './watch-hub.ts';

interface ApiPath {
  group: string;
  version: string;
  namespace?: string;
  plural?: string;
  name?: string;
  subresource?: string;
  legacyWatch: boolean;
}

/** `/api/v1/namespaces/ns/configmaps/name`, `/apis/batch/v1/watch/namespaces/ns/jobs`, ... */
function parsePath(path: string): ApiPath | undefined {
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  const core = segments[0] === 'api';
  const [group, version] = core ? ['', segments[1]] : [segments[1], segments[2]];
  if (group === undefined || version === undefined) return undefined;
  const rest = segments.slice(core ? 2 : 3);
  const legacyWatch = rest[0] === 'watch';
  if (legacyWatch) rest.shift();
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest.length <= 5) {
    const [, namespace, plural, name, subresource] = rest;
    return { group, version, namespace, plural, name, subresource, legacyWatch };
  }
  if (rest[0] === 'namespaces') return { group, version, plural: 'namespaces', name: rest[1], legacyWatch };
  if (rest.length <= 1) return { group, version, plural: rest[0], legacyWatch };
  return undefined;
}

interface Reply {
  code: number;
  body: unknown;
  headers?: Record<string, string>;
}

const NOT_FOUND = failure(404, 'NotFound', 'the server could not find the requested resource', {});
const READ_VERBS = new Set(['get', 'list', 'watch']);

/** Objects in a list carry no kind or apiVersion: the list's kind says what they are. */
function listItem(obj: KubeObject): KubeObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = obj;
  return rest as KubeObject;
}

function writeOptions(query: URLSearchParams, kind: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions') {
  return { dryRun: isDryRun(query), fieldValidation: fieldValidationOf(query, kind), warnings: [] as string[] };
}

/** Warnings as the server sends them: `299 - "<text>"` each, in one `Warning` header. */
function warningHeaders(warnings: string[]): Record<string, string> {
  return warnings.length === 0 ? {} : { warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}

/** The REST verbs on namespaced resources, translated into the fake's API calls. */
export class ResourceHandler {
  readonly #store: ObjectStore;
  readonly #objects: ObjectApi;
  readonly #gc: GarbageCollector;
  readonly #watches: WatchHub;
  readonly #user: string;

  constructor(deps: { store: ObjectStore; objects: ObjectApi; gc: GarbageCollector; watches: WatchHub; user: string }) {
    this.#store = deps.store;
    this.#objects = deps.objects;
    this.#gc = deps.gc;
    this.#watches = deps.watches;
    this.#user = deps.user;
  }

  handle(req: RecordedRequest, res: ServerResponse): void {
    try {
      const reply = this.#dispatch(req, res);
      if (reply) sendJson(res, reply.code, reply.body, reply.headers);
    } catch (err) {
      if (!(err instanceof StatusError)) throw err;
      sendJson(res, err.status.code, err.status, err.headers);
    }
  }

  /** The answer to send, or undefined when the request became a watch stream. */
  #dispatch(req: RecordedRequest, res: ServerResponse): Reply | undefined {
    const path = parsePath(req.path);
    if (!path) throw new StatusError(NOT_FOUND);
    if (path.plural === undefined) {
      const discovery =
        req.path.startsWith('/apis/') && req.path.split('/').filter(Boolean).length === 2
          ? apiGroup(path.group)
          : apiResourceList(path.group, path.version);
      if (!discovery || req.method !== 'GET') throw new StatusError(NOT_FOUND);
      return { code: 200, body: discovery };
    }
    if (path.plural === 'namespaces' && path.group === '' && req.method === 'GET') {
      return { code: 200, body: this.#namespaces(path.name) };
    }
    const type = resourceByPlural(path.group, path.version, path.plural);
    if (!type || (path.subresource !== undefined && (path.subresource !== 'status' || !type.hasStatus))) {
      throw new StatusError(NOT_FOUND);
    }
    const watch = path.legacyWatch || flag(req.query, 'watch');
    const verb = this.#verb(req.method, path.name !== undefined, watch);
    const namespace = path.namespace ?? '';
    // The client's role may read pods and Job status, as the Job controller's objects; not write them.
    if ((type.kind === 'Pod' || path.subresource) && !READ_VERBS.has(verb)) {
      const qualified = path.subresource ? { ...type, plural: `${type.plural}/${path.subresource}` } : type;
      throw forbidden(this.#user, verb, qualified, namespace);
    }
    if (path.namespace === undefined && verb !== 'list' && verb !== 'watch') throw new StatusError(NOT_FOUND);
    const name = path.name ?? '';
    switch (verb) {
      case 'get': {
        const obj = this.#store.get(type.kind, namespace, name);
        if (!obj) throw notFound(type, name);
        return { code: 200, body: obj };
      }
      case 'list':
        return { code: 200, body: this.#list(type, path.namespace, selectionOf(type, req.query), req.query) };
      case 'watch':
        this.#watch(type, path, req, res);
        return undefined;
      case 'create': {
        const options = writeOptions(req.query, 'CreateOptions');
        const body = this.#objects.create(type, namespace, bodyOf(req), options);
        return { code: 201, body, headers: warningHeaders(options.warnings) };
      }
      case 'update': {
        const options = writeOptions(req.query, 'UpdateOptions');
        const body = this.#objects.replace(type, namespace, name, bodyOf(req), options);
        return { code: 200, body, headers: warningHeaders(options.warnings) };
      }
      case 'patch': {
        const contentType = String(req.headers['content-type'] ?? '');
        const options = writeOptions(req.query, 'PatchOptions');
        const body = this.#objects.patch(type, namespace, name, contentType, bodyOf(req), options);
        return { code: 200, body, headers: warningHeaders(options.warnings) };
      }
      case 'delete': {
        const answer = this.#gc.delete(type, namespace, name, deleteRequestOf(req));
        return { code: 200, body: answer.body, headers: answer.warning ? { warning: answer.warning } : {} };
      }
      case 'deletecollection':
        return { code: 200, body: this.#deleteCollection(type, namespace, req) };
    }
  }

  #verb(method: string, item: boolean, watch: boolean): string {
    if (method === 'GET') return watch ? 'watch' : item ? 'get' : 'list';
    const verbs: Record<string, string | undefined> = item
      ? { PUT: 'update', PATCH: 'patch', DELETE: 'delete' }
      : { POST: 'create', DELETE: 'deletecollection' };
    const verb = verbs[method];
    if (!verb)
      throw new StatusError(
        failure(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, {}),
      );
    return verb;
  }

  #list(type: ResourceType, namespace: string | undefined, selection: Selection, query: URLSearchParams) {
    const start = continueKey(query.get('continue'));
    const keyOf = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;
    const matching = this.#store
      .list(type.kind, namespace)
      .filter((o) => selects(type, selection, o) && (start === undefined || keyOf(o) > start));
    const limit = Number(query.get('limit') ?? 0);
    const page = limit > 0 ? matching.slice(0, limit) : matching;
    const last = page[page.length - 1];
    const more = last !== undefined && page.length < matching.length;
    return {
      kind: type.listKind,
      apiVersion: type.apiVersion,
      metadata: {
        resourceVersion: String(this.#store.resourceVersion),
        ...(more ? { continue: continueToken(keyOf(last)), remainingItemCount: matching.length - page.length } : {}),
      },
      items: page.map(listItem),
    };
  }

  #watch(type: ResourceType, path: ApiPath, req: RecordedRequest, res: ServerResponse): void {
    const selection = selectionOf(type, req.query);
    if (path.name !== undefined) selection.fields.push({ field: 'metadata.name', negate: false, value: path.name });
    const rv = req.query.get('resourceVersion') ?? undefined;
    if (rv !== undefined && rv !== '' && !/^\d+$/.test(rv)) throw badRequest(`invalid resource version: ${rv}`);
    const timeout = req.query.get('timeoutSeconds');
    this.#watches.start(
      {
        type,
        ...(path.namespace === undefined ? {} : { namespace: path.namespace }),
        ...selection,
        ...(rv === undefined ? {} : { resourceVersion: rv }),
        bookmarks: flag(req.query, 'allowWatchBookmarks'),
        sendInitialEvents: flag(req.query, 'sendInitialEvents'),
        ...(timeout === null ? {} : { timeoutSeconds: Number(timeout) }),
      },
      res,
    );
  }

  #deleteCollection(type: ResourceType, namespace: string, req: RecordedRequest) {
    const selection = selectionOf(type, req.query);
    const request = deleteRequestOf(req);
    const items = this.#store
      .list(type.kind, namespace)
      .filter((o) => selects(type, selection, o))
      .map((o) => {
        const { body } = this.#gc.delete(type, namespace, o.metadata.name ?? '', request);
        return body.kind === 'Status' ? o : (body as KubeObject);
      });
    return {
      kind: type.listKind,
      apiVersion: type.apiVersion,
      metadata: { resourceVersion: String(this.#store.resourceVersion) },
      items: items.map(listItem),
    };
  }

  #namespaces(name: string | undefined): unknown {
    const namespace = (n: string) => ({
      metadata: { name: n, labels: { 'kubernetes.io/metadata.name': n } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
    if (name === undefined) {
      const items = [...this.#store.namespaces].sort().map(namespace);
      return {
        kind: 'NamespaceList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.#store.resourceVersion) },
        items,
      };
    }
    if (!this.#store.namespaces.has(name)) {
      throw new StatusError(failure(404, 'NotFound', `namespaces "${name}" not found`, { name, kind: 'namespaces' }));
    }
    return { kind: 'Namespace', apiVersion: 'v1', ...namespace(name) };
  }
}
