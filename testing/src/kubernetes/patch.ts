import { isDeepStrictEqual } from 'node:util';

// The three patch formats the API server accepts for built-in types:
// - application/json-patch+json (RFC 6902 operations; what @kubernetes/client-node sends by default),
// - application/merge-patch+json (RFC 7386),
// - application/strategic-merge-patch+json (merge patch, except that lists of named things merge by
//   key, as the Kubernetes types declare with patchStrategy/patchMergeKey).

type Json = unknown;
type JsonObject = Record<string, Json>;

/** Why a patch could not be applied; the server answers it with 422 (or 400 when malformed). */
export class PatchError extends Error {
  readonly malformed: boolean;
  constructor(message: string, malformed = false) {
    super(message);
    this.name = 'PatchError';
    this.malformed = malformed;
  }
}

const isObject = (value: Json): value is JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** patchMergeKey of the list fields in the types the fake serves (by field name). */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  ownerReferences: 'uid',
  conditions: 'type',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
};
/** Lists of scalars with patchStrategy merge: the patch's items are added to the existing ones. */
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

function mergeListByKey(target: Json[], patch: Json[], key: string): Json[] {
  const result = target.map((item) => structuredClone(item));
  for (const item of patch) {
    if (!isObject(item))
      throw new PatchError(`invalid list item in strategic merge patch: ${JSON.stringify(item)}`, true);
    const index = result.findIndex((existing) => isObject(existing) && existing[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = strategicMergePatch(result[index], item);
    } else {
      result.push(strategicMergePatch({}, item));
    }
  }
  return result;
}

export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _directive, ...rest } = patch;
    return structuredClone(rest);
  }
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    const current = result[key];
    if (value === null) delete result[key];
    else if (Array.isArray(value) && MERGE_KEYS[key] && Array.isArray(current)) {
      result[key] = mergeListByKey(current, value, MERGE_KEYS[key]);
    } else if (Array.isArray(value) && MERGED_SCALAR_LISTS.has(key) && Array.isArray(current)) {
      result[key] = [...current, ...value.filter((v) => !current.includes(v))];
    } else if (Array.isArray(value)) {
      result[key] = MERGE_KEYS[key] ? mergeListByKey([], value, MERGE_KEYS[key]) : structuredClone(value);
    } else result[key] = strategicMergePatch(current, value);
  }
  return result;
}

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`JSON pointer must start with '/': ${pointer}`, true);
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, parts: string[], pointer: string): { parent: JsonObject | Json[]; key: string } {
  let node = doc;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = node[part];
    else node = undefined;
    if (node === undefined) throw new PatchError(`doc is missing path: "${pointer}": missing value`);
  }
  if (!Array.isArray(node) && !isObject(node)) throw new PatchError(`doc is missing path: "${pointer}": missing value`);
  return { parent: node, key: parts[parts.length - 1] ?? '' };
}

function getAt(doc: Json, pointer: string): Json {
  const parts = parsePointer(pointer);
  if (parts.length === 0) return doc;
  const { parent, key } = parentOf(doc, parts, pointer);
  const value = Array.isArray(parent) ? parent[Number(key)] : parent[key];
  if (value === undefined) throw new PatchError(`doc is missing path: "${pointer}": missing value`);
  return value;
}

function remove(doc: Json, pointer: string): Json {
  const parts = parsePointer(pointer);
  const { parent, key } = parentOf(doc, parts, pointer);
  if (Array.isArray(parent)) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length) {
      throw new PatchError(`Unable to remove nonexistent key: ${key}: missing value`);
    }
    return parent.splice(index, 1)[0];
  }
  if (!(key in parent)) throw new PatchError(`Unable to remove nonexistent key: ${key}: missing value`);
  const value = parent[key];
  delete parent[key];
  return value;
}

function add(doc: Json, pointer: string, value: Json, replace: boolean): Json {
  const parts = parsePointer(pointer);
  if (parts.length === 0) return structuredClone(value);
  const { parent, key } = parentOf(doc, parts, pointer);
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length || (replace && index >= parent.length)) {
      throw new PatchError(`Unable to access invalid index: ${key}: invalid index referenced`);
    }
    parent.splice(index, replace ? 1 : 0, structuredClone(value));
  } else {
    if (replace && !(key in parent)) throw new PatchError(`doc is missing key: ${pointer}: missing value`);
    parent[key] = structuredClone(value);
  }
  return doc;
}

export function jsonPatch(target: Json, operations: Json): Json {
  if (!Array.isArray(operations))
    throw new PatchError('json: cannot unmarshal object into Go value of type jsonpatch.Patch', true);
  let doc = structuredClone(target);
  for (const raw of operations as Operation[]) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new PatchError(`invalid JSON patch operation: ${JSON.stringify(raw)}`, true);
    }
    switch (raw.op) {
      case 'add':
        doc = add(doc, raw.path, raw.value, false);
        break;
      case 'replace':
        doc = add(doc, raw.path, raw.value, true);
        break;
      case 'remove':
        remove(doc, raw.path);
        break;
      case 'move':
        doc = add(doc, raw.path, remove(doc, raw.from ?? ''), false);
        break;
      case 'copy':
        doc = add(doc, raw.path, getAt(doc, raw.from ?? ''), false);
        break;
      case 'test':
        if (!isDeepStrictEqual(getAt(doc, raw.path), raw.value)) {
          throw new PatchError(`testing value ${raw.path} failed: test failed`);
        }
        break;
      default:
        throw new PatchError(`Unexpected kind: ${raw.op}`, true);
    }
  }
  return doc;
}

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

/** Applies a patch body of `contentType` to `target`. */
export function applyPatch(contentType: string, target: Json, patch: Json): Json {
  if (contentType === 'application/json-patch+json') return jsonPatch(target, patch);
  if (!isObject(patch))
    throw new PatchError('json: cannot unmarshal array into Go value of type map[string]interface {}', true);
  if (contentType === 'application/merge-patch+json') return mergePatch(target, patch);
  return strategicMergePatch(target, patch);
}
