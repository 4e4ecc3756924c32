import type { KubeObject, ResourceType } from './resources.ts';
import { checkSchema } from './schema-validation.ts';
import { badRequest, type FieldError, invalid } from './status.ts';
import { validateConfigMap, validateConfigMapUpdate } from './validate-config-map.ts';
import { validateJob, validateJobUpdate } from './validate-job.ts';

/** Throws the 400 the server answers when a body does not decode into the kind's Go type. */
export function assertDecodes(type: ResourceType, obj: KubeObject): void {
  const verdict = checkSchema(type.kind, obj);
  if (verdict.decodeError) throw badRequest(verdict.decodeError);
}

function kindErrors(type: ResourceType, obj: KubeObject, prev: KubeObject | undefined): FieldError[] {
  switch (type.kind) {
    case 'Job':
      return [...validateJob(obj), ...(prev ? validateJobUpdate(obj, prev) : [])];
    case 'ConfigMap':
      return [...validateConfigMap(obj), ...(prev ? validateConfigMapUpdate(obj, prev) : [])];
    case 'Pod':
      return [];
  }
}

/**
 * Validation as the server runs it after defaulting: the schema's required fields and enums, then
 * the kind's own rules (and, on update, what may not change). Throws 422 Invalid listing every
 * problem, one cause each (a field the kind's rules already report is not repeated from the schema).
 */
export function assertValid(type: ResourceType, obj: KubeObject, prev?: KubeObject): void {
  const errors = kindErrors(type, obj, prev);
  for (const error of checkSchema(type.kind, obj).errors) {
    if (!errors.some((e) => e.field === error.field)) errors.push(error);
  }
  if (errors.length > 0) throw invalid(type, obj.metadata.name ?? obj.metadata.generateName ?? '', errors);
}
