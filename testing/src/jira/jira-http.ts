import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RecordedRequest } from '../fake-http-server.ts';

/** An answer Jira gives instead of the resource; thrown by the fake's logic, sent by its router. */
export class JiraApiError extends Error {
  readonly status: number;
  /** Jira's `{errorMessages, errors}` object, or a plain-text body. */
  readonly body: Record<string, unknown> | string;
  readonly headers: Record<string, string>;
  constructor(status: number, body: Record<string, unknown> | string, headers: Record<string, string> = {}) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** Jira's error collection: messages about the request, and messages per field. */
export function jiraError(status: number, errorMessages: string[], errors: Record<string, string> = {}): JiraApiError {
  return new JiraApiError(status, { errorMessages, errors });
}

export const issueNotFound = (): JiraApiError =>
  jiraError(404, ['Issue does not exist or you do not have permission to see it.']);

export const invalidPayload = (): JiraApiError =>
  jiraError(400, ['Invalid request payload. Refer to the REST API documentation and try again.']);

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Jira Cloud's basic auth: `email:api_token` (and, when given, a Data Center personal access token as Bearer). No credential at all gets the JSON error collection;
 * a wrong one gets Jira's plain-text answer (so a client must not assume a 401 body is JSON).
 */
export function checkBasicAuth(
  headers: IncomingHttpHeaders,
  email: string,
  apiToken: string,
  bearerToken?: string,
): void {
  const header = headers.authorization;
  if (!header) {
    throw jiraError(401, ['You are not authenticated. Authentication required to perform this operation.']);
  }
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  // Data Center's personal access tokens come as Bearer; Cloud has none, so without one configured it is refused.
  if (/^bearer$/i.test(scheme) && bearerToken !== undefined && sameSecret(value, bearerToken)) return;
  const decoded = /^basic$/i.test(scheme) ? Buffer.from(value, 'base64').toString('utf8') : '';
  if (!sameSecret(decoded, `${email}:${apiToken}`)) {
    throw new JiraApiError(401, 'Client must be authenticated to access this resource.', {
      'x-seraph-loginreason': 'AUTHENTICATED_FAILED',
      'www-authenticate': 'Basic realm="protected-area"',
    });
  }
}

/** The JSON object body of a write; Jira answers 415 to a non-JSON content type and 400 to bad JSON. */
export function jsonObjectBody(req: RecordedRequest): Record<string, unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new JiraApiError(415, 'Unsupported Media Type');
  const body = req.json;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidPayload();
  return body as Record<string, unknown>;
}

/** Jira's timestamp format, e.g. `2024-01-01T10:00:00.000+0000`. */
export function jiraTimestamp(date = new Date()): string {
  return date.toISOString().replace('Z', '+0000');
}

/** Looks like Jira's `x-arequestid`. */
export function requestId(): string {
  return randomBytes(8).toString('hex');
}
