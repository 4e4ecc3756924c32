import { parse as parseYaml } from 'yaml';
import type { RecordedRequest } from '../fake-http-server.ts';
import { notSupported } from './field-errors.ts';
import type { DeleteRequest, Propagation } from './garbage-collector.ts';
import {
  type FieldRequirement,
  fieldOf,
  matchesFields,
  matchesRequirements,
  parseFieldSelector,
  parseLabelSelector,
  type Requirement,
} from './label-selector.ts';
import type { KubeObject, ResourceType } from './resources.ts';
import { badRequest, failure, StatusError } from './status.ts';

// Turning a request's query and body into what the API server acts on, with its 400s and 422s.

export interface Selection {
  labels: Requirement[];
  fields: FieldRequirement[];
}

export function selectionOf(type: ResourceType, query: URLSearchParams): Selection {
  const supported = (field: string) =>
    field === 'metadata.name' || field === 'metadata.namespace' || field in type.selectableFields;
  return {
    labels: parseLabelSelector(query.get('labelSelector') ?? ''),
    fields: parseFieldSelector(query.get('fieldSelector') ?? '', supported),
  };
}

export function selects(type: ResourceType, selection: Selection, obj: KubeObject): boolean {
  return (
    matchesRequirements(selection.labels, obj.metadata.labels) &&
    matchesFields(selection.fields, (field) => fieldOf(obj, type.selectableFields, field))
  );
}

export const flag = (query: URLSearchParams, name: string): boolean => ['true', '1'].includes(query.get(name) ?? '');

export function isDryRun(query: URLSearchParams, body?: { dryRun?: unknown }): boolean {
  const values = [...query.getAll('dryRun'), ...(Array.isArray(body?.dryRun) ? (body.dryRun as string[]) : [])];
  for (const value of values) if (value !== 'All') throw badRequest(`Invalid dry run value: ${value}`);
  return values.length > 0;
}

/** The request body as JSON (or YAML, which the server also takes); a body that is neither is a 400. */
export function bodyOf(req: RecordedRequest): unknown {
  if (req.body.length === 0) return undefined;
  if (req.json !== undefined) return req.json;
  const contentType = String(req.headers['content-type'] ?? '');
  if (contentType.includes('yaml')) {
    try {
      return parseYaml(req.body.toString('utf8'));
    } catch (err) {
      throw badRequest(`error converting YAML to JSON: ${(err as Error).message}`);
    }
  }
  throw badRequest(`couldn't get version/kind; json parse error: invalid JSON in the request body`);
}

/** How the server treats fields its types do not declare (metav1.FieldValidation*). */
export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';
const FIELD_VALIDATIONS: FieldValidation[] = ['Ignore', 'Warn', 'Strict'];

/**
 * The `fieldValidation` of a create, update or patch: Warn when unset (the server's default since
 * 1.27); anything else but the three values is the 422 the server's options validation answers.
 */
export function fieldValidationOf(
  query: URLSearchParams,
  options: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions',
): FieldValidation {
  const value = query.get('fieldValidation') ?? '';
  if (value === '') return 'Warn';
  if (FIELD_VALIDATIONS.includes(value as FieldValidation)) return value as FieldValidation;
  const error = notSupported('fieldValidation', value, ['', 'Ignore', 'Strict', 'Warn']);
  throw new StatusError(
    failure(422, 'Invalid', `${options}.meta.k8s.io "" is invalid: ${error.field}: ${error.message}`, {
      group: 'meta.k8s.io',
      kind: options,
      causes: [error],
    }),
  );
}

const PROPAGATIONS: Propagation[] = ['Foreground', 'Background', 'Orphan'];

function invalidDeleteOptions(field: string, message: string, reason: string): StatusError {
  return new StatusError(
    failure(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: ${field}: ${message}`, {
      group: 'meta.k8s.io',
      kind: 'DeleteOptions',
      causes: [{ reason, message, field }],
    }),
  );
}

/** DeleteOptions from the body (what @kubernetes/client-node sends) and the query parameters. */
export function deleteRequestOf(req: RecordedRequest): DeleteRequest {
  const body = (bodyOf(req) ?? {}) as {
    propagationPolicy?: string;
    orphanDependents?: boolean;
    preconditions?: { uid?: string; resourceVersion?: string };
    dryRun?: string[];
  };
  const policy = body.propagationPolicy ?? req.query.get('propagationPolicy') ?? undefined;
  const orphanQuery = req.query.get('orphanDependents');
  const orphan = body.orphanDependents ?? (orphanQuery === null ? undefined : orphanQuery === 'true');
  if (policy !== undefined && orphan !== undefined) {
    throw invalidDeleteOptions(
      'orphanDependents',
      `Invalid value: ${orphan}: orphanDependents and deletionPropagation cannot be both set`,
      'FieldValueInvalid',
    );
  }
  if (policy !== undefined && !PROPAGATIONS.includes(policy as Propagation)) {
    const error = notSupported('propagationPolicy', policy, [...PROPAGATIONS, 'nil']);
    throw invalidDeleteOptions(error.field, error.message, error.reason);
  }
  const propagation =
    (policy as Propagation | undefined) ?? (orphan === undefined ? undefined : orphan ? 'Orphan' : 'Background');
  return {
    ...(propagation === undefined ? {} : { propagation }),
    ...(body.preconditions ? { preconditions: body.preconditions } : {}),
    dryRun: isDryRun(req.query, body),
  };
}

/** A `continue` token: where the previous page ended. */
export function continueToken(key: string): string {
  return Buffer.from(JSON.stringify({ start: key })).toString('base64url');
}

export function continueKey(token: string | null): string | undefined {
  if (!token) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { start?: unknown };
    if (typeof parsed.start === 'string') return parsed.start;
  } catch {
    // fall through to the 400
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}
