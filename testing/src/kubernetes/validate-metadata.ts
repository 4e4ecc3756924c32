import { invalidValue, required, tooLong } from './field-errors.ts';
import { labelValue, qualifiedName } from './name-rules.ts';
import type { ObjectMeta } from './resources.ts';
import type { FieldError } from './status.ts';

/** The most bytes all annotations of one object may take (keys plus values). */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateLabels(labels: Record<string, string> | undefined, field: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    for (const message of qualifiedName(key)) errors.push(invalidValue(field, key, message));
    for (const message of labelValue(value)) errors.push(invalidValue(field, value, message));
  }
  return errors;
}

export function validateAnnotations(annotations: Record<string, string> | undefined, field: string): FieldError[] {
  const errors: FieldError[] = [];
  let size = 0;
  for (const [key, value] of Object.entries(annotations ?? {})) {
    for (const message of qualifiedName(key.toLowerCase())) errors.push(invalidValue(field, key, message));
    size += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errors.push(tooLong(field, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errors;
}

/**
 * ValidateObjectMeta: the name (with the kind's own name rule), labels, annotations and owner
 * references. `prefix` is `metadata` for an object, `spec.template.metadata` for a pod template.
 */
export function validateObjectMeta(
  meta: ObjectMeta,
  nameRule: ((name: string) => string[]) | undefined,
  prefix = 'metadata',
): FieldError[] {
  const errors: FieldError[] = [];
  if (nameRule) {
    if (!meta.name && !meta.generateName) {
      errors.push(required(`${prefix}.name`, 'name or generateName is required'));
    } else if (meta.name) {
      for (const message of nameRule(meta.name)) errors.push(invalidValue(`${prefix}.name`, meta.name, message));
    }
  }
  errors.push(...validateLabels(meta.labels, `${prefix}.labels`));
  errors.push(...validateAnnotations(meta.annotations, `${prefix}.annotations`));
  (meta.ownerReferences ?? []).forEach((ref, i) => {
    const field = `${prefix}.ownerReferences[${i}]`;
    if (!ref.apiVersion)
      errors.push(invalidValue(`${field}.apiVersion`, ref.apiVersion ?? '', 'version must not be empty'));
    if (!ref.kind) errors.push(invalidValue(`${field}.kind`, ref.kind ?? '', 'kind must not be empty'));
    if (!ref.name) errors.push(invalidValue(`${field}.name`, ref.name ?? '', 'name must not be empty'));
    if (!ref.uid) errors.push(invalidValue(`${field}.uid`, ref.uid ?? '', 'uid must not be empty'));
  });
  const controllers = (meta.ownerReferences ?? []).filter((ref) => ref.controller === true);
  if (controllers.length > 1) {
    errors.push(
      invalidValue(
        `${prefix}.ownerReferences`,
        meta.ownerReferences,
        'Only one reference can have Controller set to true',
      ),
    );
  }
  for (const finalizer of meta.finalizers ?? []) {
    for (const message of qualifiedName(finalizer)) {
      errors.push(invalidValue(`${prefix}.finalizers`, finalizer, message));
    }
  }
  return errors;
}
