import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';

// Both providers read a schema without `$schema` as draft 2020-12; a schema that names an older
// draft (zod's draft-7 output may) is read as that draft. Formats are annotations to the
// providers, so they are not validated here either.
const options = { strict: false, validateFormats: false, allErrors: true } as const;
const draft2020 = new Ajv2020(options);
const draft7 = new Ajv(options);
// The same tool schema arrives on every request; compiling it once also keeps ajv from refusing a
// second schema with the same `$id`.
const compiled = new Map<string, ValidateFunction>();

/** Compiles a JSON schema, or returns why it is not a valid one. */
export function compileJsonSchema(schema: unknown): { validate: ValidateFunction } | { error: string } {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return { error: 'a JSON schema must be an object' };
  }
  const declared = (schema as { $schema?: unknown }).$schema;
  const ajv = typeof declared === 'string' && /draft-0[4-7]/.test(declared) ? draft7 : draft2020;
  const key = `${ajv === draft7 ? '7' : '2020'}:${JSON.stringify(schema)}`;
  try {
    const validate = compiled.get(key) ?? ajv.compile(schema);
    compiled.set(key, validate);
    return { validate };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** Validates `value`, returning a readable list of what does not match, or undefined when it does. */
export function schemaMismatch(validate: ValidateFunction, value: unknown): string | undefined {
  if (validate(value)) return undefined;
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join('; ');
}
