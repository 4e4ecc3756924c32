import { isDeepStrictEqual } from 'node:util';
import { forbiddenValue, invalidValue, tooLong } from './field-errors.ts';
import { configMapKey, dns1123Subdomain } from './name-rules.ts';
import type { KubeObject } from './resources.ts';
import type { FieldError } from './status.ts';
import { validateObjectMeta } from './validate-metadata.ts';

/** The most bytes of data a ConfigMap may hold (api.MaxSecretSize, shared with Secrets). */
export const CONFIG_MAP_SIZE_LIMIT = 1024 * 1024;

type Bag = Record<string, string> | undefined;

/** ValidateConfigMap (pkg/apis/core/validation/validation.go). */
export function validateConfigMap(cm: KubeObject): FieldError[] {
  const errors = validateObjectMeta(cm.metadata, dns1123Subdomain);
  const data = cm.data as Bag;
  const binaryData = cm.binaryData as Bag;
  let totalSize = 0;
  for (const [key, value] of Object.entries(data ?? {})) {
    for (const message of configMapKey(key)) errors.push(invalidValue(`data[${key}]`, key, message));
    if (binaryData && key in binaryData) {
      errors.push(invalidValue(`data[${key}]`, key, 'duplicate of key present in binaryData'));
    }
    totalSize += Buffer.byteLength(value);
  }
  for (const [key, value] of Object.entries(binaryData ?? {})) {
    for (const message of configMapKey(key)) errors.push(invalidValue(`binaryData[${key}]`, key, message));
    totalSize += Buffer.from(value, 'base64').length;
  }
  // The server reports the size against the whole object, whose field path prints as "[]".
  if (totalSize > CONFIG_MAP_SIZE_LIMIT) errors.push(tooLong('[]', CONFIG_MAP_SIZE_LIMIT));
  return errors;
}

/** ValidateConfigMapUpdate: an immutable ConfigMap keeps its data. */
export function validateConfigMapUpdate(next: KubeObject, prev: KubeObject): FieldError[] {
  if (prev.immutable !== true) return [];
  const errors: FieldError[] = [];
  if (next.immutable !== true) {
    errors.push(forbiddenValue('immutable', 'field is immutable when `immutable` is set'));
  }
  if (!isDeepStrictEqual(next.data ?? {}, prev.data ?? {})) {
    errors.push(forbiddenValue('data', 'field is immutable when `immutable` is set'));
  }
  if (!isDeepStrictEqual(next.binaryData ?? {}, prev.binaryData ?? {})) {
    errors.push(forbiddenValue('binaryData', 'field is immutable when `immutable` is set'));
  }
  return errors;
}
