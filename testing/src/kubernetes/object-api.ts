import { isDeepStrictEqual } from 'node:util';
import { defaultJob, generateJobSelector } from './job-defaults.ts';
import type { ObjectStore } from './object-store.ts';
import { applyPatch, PATCH_TYPES, PatchError } from './patch.ts';
import type { FieldValidation } from './request-parsing.ts';
import type { KindName, KubeObject, ResourceType } from './resources.ts';
import {
  alreadyExists,
  badRequest,
  conflict,
  failure,
  namespaceNotFound,
  notFound,
  StatusError,
  unsupportedMediaType,
} from './status.ts';
import { generateName, newUid, timestamp } from './system-fields.ts';
import { dropUnknownFields, modelName } from './unknown-fields.ts';
import { assertDecodes, assertValid } from './validate-object.ts';

export interface WriteOptions {
  dryRun: boolean;
  /** What to do about fields the kind does not declare; Warn when unset, as the server. */
  fieldValidation?: FieldValidation;
  /** Where the write's warnings go (the handler sends them as `Warning` headers). */
  warnings?: string[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const MODIFIED_MESSAGE = 'the object has been modified; please apply your changes to the latest version and try again';

/**
 * Create, replace and patch with the API server's semantics: decoding, defaulting, server-set
 * metadata, validation, optimistic concurrency and dry runs. The HTTP layer only translates.
 */
export class ObjectApi {
  readonly #store: ObjectStore;
  readonly #createFaults = new Map<KindName, StatusError[]>();

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  /** Makes the next create of `kind` fail with `error` instead of storing anything. */
  failNextCreate(kind: KindName, error: StatusError): void {
    this.#createFaults.set(kind, [...(this.#createFaults.get(kind) ?? []), error]);
  }

  create(type: ResourceType, namespace: string, body: unknown, options: WriteOptions): KubeObject {
    const obj = this.#decode(type, namespace, body, options);
    if (!this.#store.namespaces.has(namespace)) throw namespaceNotFound(namespace);
    const fault = this.#createFaults.get(type.kind)?.shift();
    if (fault) throw fault;
    if (obj.metadata.resourceVersion) {
      throw new StatusError(failure(500, undefined, 'resourceVersion should not be set on objects to be created'));
    }
    if (type.kind === 'Job') defaultJob(obj);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    meta.namespace = namespace;
    meta.uid = newUid();
    meta.creationTimestamp = timestamp();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (type.kind === 'Job') {
      meta.generation = 1;
      obj.status = {};
      generateJobSelector(obj);
    } else delete meta.generation;
    assertValid(type, obj);
    if (this.#store.get(type.kind, namespace, meta.name ?? '')) throw alreadyExists(type, meta.name ?? '');
    return options.dryRun ? obj : this.#store.create(type.kind, obj);
  }

  replace(type: ResourceType, namespace: string, name: string, body: unknown, options: WriteOptions): KubeObject {
    const obj = this.#decode(type, namespace, body, options);
    if (obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`,
      );
    }
    const current = this.#store.get(type.kind, namespace, name);
    if (!current) throw notFound(type, name);
    return this.#update(type, current, obj, options);
  }

  patch(
    type: ResourceType,
    namespace: string,
    name: string,
    contentType: string,
    patch: unknown,
    options: WriteOptions,
  ): KubeObject {
    const mediaType = contentType.split(';')[0]?.trim() ?? '';
    if (!PATCH_TYPES.includes(mediaType)) throw unsupportedMediaType(mediaType, PATCH_TYPES);
    if (mediaType === 'application/apply-patch+yaml') {
      throw unsupportedMediaType(
        `${mediaType} (server-side apply is not implemented by this fake)`,
        PATCH_TYPES.slice(0, 3),
      );
    }
    const current = this.#store.get(type.kind, namespace, name);
    if (!current) throw notFound(type, name);
    let patched: unknown;
    try {
      patched = applyPatch(mediaType, current, patch);
    } catch (err) {
      if (!(err instanceof PatchError)) throw err;
      if (err.malformed) throw badRequest(err.message);
      throw new StatusError(
        failure(422, 'Invalid', `the server rejected our request due to an error in our request: ${err.message}`),
      );
    }
    const obj = this.#decode(type, namespace, patched, options);
    if (obj.metadata.name !== name)
      throw badRequest(`metadata.name: Invalid value: "${obj.metadata.name ?? ''}": field is immutable`);
    return this.#update(type, current, obj, options);
  }

  /** The checks every write body goes through before the kind's own handling. */
  #decode(type: ResourceType, namespace: string, body: unknown, options: WriteOptions): KubeObject {
    if (!isObject(body))
      throw badRequest(
        'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
      );
    const obj = structuredClone(body) as KubeObject;
    // The decoder never keeps a field its Go type lacks: Strict refuses the body, Warn says so.
    const unknown = dropUnknownFields(obj, modelName(type.apiVersion, type.kind) ?? '').map(
      (field) => `unknown field "${field}"`,
    );
    if (unknown.length > 0 && options.fieldValidation === 'Strict') {
      throw badRequest(
        `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: strict decoding error: ${unknown.join(', ')}`,
      );
    }
    if (options.fieldValidation !== 'Ignore') options.warnings?.push(...unknown);
    if (obj.apiVersion !== undefined && obj.apiVersion !== type.apiVersion) {
      throw badRequest(
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${type.apiVersion})`,
      );
    }
    if (obj.kind !== undefined && obj.kind !== type.kind) {
      throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${type.kind})`);
    }
    obj.apiVersion = type.apiVersion;
    obj.kind = type.kind;
    if (!isObject(obj.metadata)) obj.metadata = {};
    if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    assertDecodes(type, obj);
    return obj;
  }

  #update(type: ResourceType, current: KubeObject, obj: KubeObject, options: WriteOptions): KubeObject {
    const name = current.metadata.name ?? '';
    const meta = obj.metadata;
    if (meta.resourceVersion && meta.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(type, name, MODIFIED_MESSAGE);
    }
    if (meta.uid && meta.uid !== current.metadata.uid) {
      throw conflict(
        type,
        name,
        `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    if (type.kind === 'Job') defaultJob(obj);
    // What only the server sets survives any update.
    for (const key of [
      'uid',
      'creationTimestamp',
      'namespace',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
      'resourceVersion',
    ] as const) {
      if (current.metadata[key] === undefined) delete meta[key];
      else (meta as Record<string, unknown>)[key] = current.metadata[key];
    }
    if (type.hasStatus) obj.status = current.status;
    if (type.kind === 'Job' && !isDeepStrictEqual(obj.spec, current.spec))
      meta.generation = (current.metadata.generation ?? 0) + 1;
    assertValid(type, obj, current);
    // A write that changes nothing is not a write: no new resourceVersion, no watch event.
    if (isDeepStrictEqual(obj, current) || options.dryRun) return obj;
    if (meta.deletionTimestamp && (meta.finalizers ?? []).length === 0) {
      return this.#store.remove(type.kind, meta.namespace ?? '', name) ?? obj;
    }
    return this.#store.update(type.kind, obj);
  }
}
