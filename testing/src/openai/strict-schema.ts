// Keywords Structured Outputs' strict mode does not support (the list the openai SDK's own
// strict-schema conversion refuses, src/lib/transform.ts of openai 7.x).
const UNSUPPORTED = [
  '$anchor',
  '$dynamicAnchor',
  '$dynamicRef',
  'allOf',
  'contains',
  'contentEncoding',
  'contentMediaType',
  'contentSchema',
  'dependentRequired',
  'dependentSchemas',
  'dependencies',
  'else',
  'if',
  'maxContains',
  'maxProperties',
  'minContains',
  'minProperties',
  'not',
  'oneOf',
  'patternProperties',
  'prefixItems',
  'propertyNames',
  'then',
  'unevaluatedItems',
  'unevaluatedProperties',
  'uniqueItems',
];

type Path = (string | number)[];

/** Python's repr of the path tuple, as OpenAI's messages print it: (), ('a',), ('a', 'b'). */
function context(path: Path): string {
  const parts = path.map((p) => (typeof p === 'number' ? String(p) : `'${p}'`));
  return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(', ')})`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The first way `schema` breaks the strict-mode rules of Structured Outputs, in the words of
 * OpenAI's 400, or undefined when it keeps them: the root is an object; every object sets
 * `additionalProperties: false` and lists all its properties in `required`; arrays say what their
 * items are; and no unsupported keyword is used.
 */
export function strictSchemaViolation(schema: Record<string, unknown>): string | undefined {
  if (schema.type !== 'object' || schema.anyOf !== undefined) {
    return `schema must be a JSON Schema of 'type: "object"', got 'type: ${JSON.stringify(schema.type ?? 'anyOf')}'.`;
  }
  return visit(schema, []);
}

function visit(node: unknown, path: Path): string | undefined {
  if (!isObject(node)) return `In context=${context(path)}, schema must be a JSON Schema object.`;
  const here = `In context=${context(path)}`;
  for (const keyword of UNSUPPORTED) {
    if (node[keyword] !== undefined) return `${here}, '${keyword}' is not permitted.`;
  }
  const isObjectSchema = node.type === 'object' || (Array.isArray(node.type) && node.type.includes('object'));
  if (isObjectSchema || node.properties !== undefined) {
    if (node.additionalProperties !== false) {
      return `${here}, 'additionalProperties' is required to be supplied and to be false.`;
    }
    const properties = isObject(node.properties) ? Object.keys(node.properties) : [];
    const required = Array.isArray(node.required) ? node.required : [];
    const missing = properties.find((key) => !required.includes(key));
    if (missing !== undefined) {
      return `${here}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing}'.`;
    }
  }
  const isArraySchema = node.type === 'array' || (Array.isArray(node.type) && node.type.includes('array'));
  if (isArraySchema && !isObject(node.items)) return `${here}, 'items' is required to be supplied and to be a schema.`;

  const children: [unknown, Path][] = [];
  for (const key of ['properties', '$defs', 'definitions']) {
    if (isObject(node[key])) {
      for (const [name, child] of Object.entries(node[key])) children.push([child, [...path, key, name]]);
    }
  }
  if (node.items !== undefined) children.push([node.items, [...path, 'items']]);
  if (Array.isArray(node.anyOf)) {
    node.anyOf.forEach((child, i) => {
      children.push([child, [...path, 'anyOf', i]]);
    });
  }
  for (const [child, childPath] of children) {
    const problem = visit(child, childPath);
    if (problem) return problem;
  }
  return undefined;
}
