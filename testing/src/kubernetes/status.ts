import { qualifiedKind, qualifiedResource, type ResourceType } from './resources.ts';

/** One `details.causes[]` entry of an Invalid Status: what is wrong, and where. */
export interface FieldError {
  /** FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, FieldValueDuplicate, ... */
  reason: string;
  /** `spec.template.spec.restartPolicy`, as the API server spells field paths. */
  field: string;
  /** `Unsupported value: "Always": supported values: "OnFailure", "Never"` */
  message: string;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { reason?: string; message: string; field?: string }[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** A Status the API answers with, thrown by handlers and turned into the response. */
export class StatusError extends Error {
  readonly status: Status;
  readonly headers: Record<string, string>;

  constructor(status: Status, headers: Record<string, string> = {}) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = 'StatusError';
    this.status = status;
    this.headers = headers;
  }
}

export function failure(
  code: number,
  reason: string | undefined,
  message: string,
  details?: Status['details'],
): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    ...(reason === undefined ? {} : { reason }),
    ...(details === undefined ? {} : { details }),
    code,
  };
}

function resourceDetails(type: ResourceType, name: string): NonNullable<Status['details']> {
  return { name, ...(type.group ? { group: type.group } : {}), kind: type.plural };
}

export const notFound = (type: ResourceType, name: string): StatusError =>
  new StatusError(
    failure(404, 'NotFound', `${qualifiedResource(type)} "${name}" not found`, resourceDetails(type, name)),
  );

export const namespaceNotFound = (namespace: string): StatusError =>
  new StatusError(
    failure(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' }),
  );

export const alreadyExists = (type: ResourceType, name: string): StatusError =>
  new StatusError(
    failure(409, 'AlreadyExists', `${qualifiedResource(type)} "${name}" already exists`, resourceDetails(type, name)),
  );

export const conflict = (type: ResourceType, name: string, detail: string): StatusError =>
  new StatusError(
    failure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(type)} "${name}": ${detail}`,
      resourceDetails(type, name),
    ),
  );

export const badRequest = (message: string): StatusError => new StatusError(failure(400, 'BadRequest', message));

export const internalError = (message: string): StatusError =>
  new StatusError(failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }));

export const unauthorized = (): StatusError => new StatusError(failure(401, 'Unauthorized', 'Unauthorized'));

export const forbidden = (user: string, verb: string, type: ResourceType, namespace: string): StatusError =>
  new StatusError(
    failure(
      403,
      'Forbidden',
      `${qualifiedResource(type)} is forbidden: User "${user}" cannot ${verb} resource "${type.plural}" in API group "${type.group}" in the namespace "${namespace}"`,
      { ...(type.group ? { group: type.group } : {}), kind: type.plural },
    ),
  );

export const unsupportedMediaType = (contentType: string, supported: string[]): StatusError =>
  new StatusError(
    failure(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${supported.join(', ')}`,
      { causes: [{ reason: 'UnexpectedServerResponse', message: contentType }] },
    ),
  );

/** The 422 the server answers when validation fails: every field error listed, each as a cause. */
export function invalid(type: ResourceType, name: string, errors: FieldError[]): StatusError {
  const lines = errors.map((e) => `${e.field}: ${e.message}`);
  const summary = lines.length === 1 ? lines[0] : `[${lines.join(', ')}]`;
  return new StatusError(
    failure(422, 'Invalid', `${qualifiedKind(type)} "${name}" is invalid: ${summary}`, {
      name,
      ...(type.group ? { group: type.group } : {}),
      kind: type.kind,
      causes: errors.map(({ reason, message, field }) => ({ reason, message, field })),
    }),
  );
}

/** What a watch sends (as an ERROR event) when asked to start before the retained history. */
export const expired = (requested: number, oldest: number): Status =>
  failure(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
