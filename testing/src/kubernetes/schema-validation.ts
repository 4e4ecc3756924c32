import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Pod } from 'kubernetes-models/v1/Pod';
import { fieldPath, invalidValue, notSupported, required } from './field-errors.ts';
import type { KindName, KubeObject } from './resources.ts';
import type { FieldError } from './status.ts';

interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

const MODELS: Record<KindName, new (data: KubeObject) => { validate(): void }> = {
  ConfigMap: ConfigMap as never,
  Job: Job as never,
  Pod: Pod as never,
};

/**
 * What the Kubernetes OpenAPI schema (as kubernetes-models compiles it) says about an object,
 * split the way the API server splits it: a value of the wrong JSON type (or an unparsable
 * quantity) fails decoding, which the server answers with 400 BadRequest; a missing required field
 * or a value outside an enum is a validation error, answered with 422 Invalid.
 */
export interface SchemaVerdict {
  /** The decoding failure, phrased as the server phrases it, if there is one. */
  decodeError?: string;
  errors: FieldError[];
}

const DECODE_KEYWORDS = new Set(['type', 'format', 'oneOf', 'anyOf']);

function valueAt(obj: unknown, pointer: string): unknown {
  let value: unknown = obj;
  for (const part of pointer.split('/').slice(1)) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return value;
}

const jsonType = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'object' ? 'object' : typeof value;

export function checkSchema(kind: KindName, obj: KubeObject): SchemaVerdict {
  try {
    new MODELS[kind](obj).validate();
    return { errors: [] };
  } catch (err) {
    const schemaErrors = (err as { errors?: SchemaError[] }).errors;
    if (!schemaErrors) throw err;
    const decode = schemaErrors.find((e) => DECODE_KEYWORDS.has(e.keyword));
    if (decode) {
      const value = valueAt(obj, decode.instancePath);
      const expected = schemaErrors
        .filter((e) => e.instancePath === decode.instancePath && e.keyword === 'type')
        .map((e) => String(e.params.type));
      const detail =
        decode.keyword === 'format' && expected.length === 0
          ? `${fieldPath(decode.instancePath)}: ${decode.message ?? 'invalid format'}`
          : `json: cannot unmarshal ${jsonType(value)} into Go struct field ${fieldPath(decode.instancePath)} of type ${expected.join(' or ') || String(decode.params.format ?? 'unknown')}`;
      return { decodeError: `${kind} in version "v1" cannot be handled as a ${kind}: ${detail}`, errors: [] };
    }
    return { errors: schemaErrors.map((e) => toFieldError(obj, e)) };
  }
}

function toFieldError(obj: KubeObject, e: SchemaError): FieldError {
  if (e.keyword === 'required') {
    const parent = fieldPath(e.instancePath);
    const missing = String(e.params.missingProperty);
    return required(parent ? `${parent}.${missing}` : missing);
  }
  const field = fieldPath(e.instancePath);
  const value = valueAt(obj, e.instancePath);
  if (e.keyword === 'enum') return notSupported(field, value, (e.params.allowedValues as unknown[]).map(String));
  return invalidValue(field, value, e.message ?? e.keyword);
}
