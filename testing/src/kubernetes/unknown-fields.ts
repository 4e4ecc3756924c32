import * as models from '@kubernetes/client-node';

// Which fields of a body the API server's decoder does not know. The server decodes JSON into its
// Go types; a field no type declares is "unknown": dropped (fieldValidation Ignore), dropped with a
// warning (Warn, the default since 1.27) or a 400 (Strict). The Go types' fields are taken from
// @kubernetes/client-node's models, generated from the same OpenAPI document.

interface Attribute {
  name: string;
  baseName: string;
  type: string;
}
type Model = { getAttributeTypeMap(): Attribute[] };

const MODELS = models as unknown as Record<string, Model | undefined>;

/** The model a kind of object decodes into, by apiVersion and kind (`apps/v1` `Deployment`: `V1Deployment`). */
export function modelName(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.split('/').pop() ?? '';
  const name = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  return MODELS[name]?.getAttributeTypeMap ? name : undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Removes the fields `type` does not declare from `value` (in place, at any depth) and returns
 * their paths as the server spells them in `unknown field "<path>"`: `spec.template.spec.containers[0].imagePullPolicyy`.
 */
export function dropUnknownFields(value: unknown, type: string, path = ''): string[] {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return [];
    return value.flatMap((item, i) => dropUnknownFields(item, array[1] as string, `${path}[${i}]`));
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (!isObject(value)) return [];
    return Object.entries(value).flatMap(([key, item]) => dropUnknownFields(item, map[1] as string, join(path, key)));
  }
  const model = MODELS[type];
  if (!model?.getAttributeTypeMap || !isObject(value)) return [];
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a]));
  const unknown: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    const attribute = attributes.get(key);
    if (!attribute) {
      unknown.push(join(path, key));
      delete value[key];
    } else unknown.push(...dropUnknownFields(item, attribute.type, join(path, key)));
  }
  return unknown;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
