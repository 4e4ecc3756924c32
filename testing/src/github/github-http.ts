import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RecordedRequest } from '../fake-http-server.ts';

export const DOCS_URL = 'https://docs.github.com/rest';

/** One entry of a 422 "Validation Failed" answer, as GitHub writes them. */
export interface ValidationError {
  resource: string;
  code: string;
  field?: string;
  message?: string;
}

/** An answer GitHub gives instead of the resource; thrown by the fake's logic, sent by its router. */
export class GitHubApiError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, message: string, docs = DOCS_URL, extra: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    // Field order as GitHub sends it; `status` is a string there.
    this.body = { message, ...extra, documentation_url: docs, status: String(status) };
  }
}

export function notFound(docs = DOCS_URL): GitHubApiError {
  return new GitHubApiError(404, 'Not Found', docs);
}

export function validationFailed(errors: ValidationError[], docs: string): GitHubApiError {
  return new GitHubApiError(422, 'Validation Failed', docs, { errors });
}

/** A body field of the wrong JSON type: GitHub answers with its schema checker's wording. */
function invalidType(field: string, value: unknown, type: string, docs: string): GitHubApiError {
  return new GitHubApiError(
    422,
    `Invalid request.\n\nFor 'properties/${field}', ${JSON.stringify(value)} is not a ${type}.`,
    docs,
  );
}

/** The JSON body of a write request; a body that is not JSON is a 400, as on GitHub. */
export function jsonBody(req: RecordedRequest, docs: string): unknown {
  if (req.body.length === 0) return {};
  if (req.json === undefined) throw new GitHubApiError(400, 'Problems parsing JSON', docs);
  return req.json;
}

export function objectBody(req: RecordedRequest, docs: string): Record<string, unknown> {
  const body = jsonBody(req, docs);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GitHubApiError(400, 'Problems parsing JSON', docs);
  }
  return body as Record<string, unknown>;
}

/** Fields the API schema requires: GitHub's schema checker answers 422 "… wasn't supplied." */
export function requireFields(body: Record<string, unknown>, fields: string[], docs: string): void {
  const missing = fields.filter((f) => body[f] === undefined || body[f] === null).map((f) => `"${f}"`);
  if (missing.length === 0) return;
  const verb = missing.length === 1 ? "wasn't" : "weren't";
  throw new GitHubApiError(422, `Invalid request.\n\n${missing.join(', ')} ${verb} supplied.`, docs);
}

/** One page of a list, with GitHub's `link` header when there are more pages. */
export function paginate<T>(
  items: T[],
  query: URLSearchParams,
  selfUrl: string,
): { page: T[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Math.max(1, Number(query.get('per_page') ?? 30) || 30));
  const page = Math.max(1, Number(query.get('page') ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (n: number, rel: string): string => {
    const q = new URLSearchParams(query);
    q.set('per_page', String(perPage));
    q.set('page', String(n));
    return `<${selfUrl}?${q}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
  if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
  return {
    page: items.slice((page - 1) * perPage, page * perPage),
    headers: links.length > 0 ? { link: links.join(', ') } : {},
  };
}

export function optionalString(body: Record<string, unknown>, field: string, docs: string): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidType(field, value, 'string', docs);
  return value;
}

export function optionalBoolean(body: Record<string, unknown>, field: string, docs: string): boolean | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalidType(field, value, 'boolean', docs);
  return value;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * GitHub takes a token as `token X`, `Bearer X`, or HTTP Basic with the token as password.
 * Without a credential the API says "Requires authentication"; with a wrong one, "Bad credentials".
 */
export function checkToken(headers: IncomingHttpHeaders, token: string): void {
  const header = headers.authorization;
  if (!header) throw new GitHubApiError(401, 'Requires authentication');
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  let given = '';
  if (/^(token|bearer)$/i.test(scheme)) given = value;
  else if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    given = decoded.slice(decoded.indexOf(':') + 1);
  }
  if (!sameSecret(given, token)) throw new GitHubApiError(401, 'Bad credentials');
}

/** The headers GitHub puts on every REST answer (rate limit state, request id, media type). */
export class RateLimitHeaders {
  #used = 0;
  readonly #limit = 5000;
  readonly #reset = Math.floor(Date.now() / 1000) + 3600;

  next(): Record<string, string> {
    this.#used += 1;
    return {
      'content-type': 'application/json; charset=utf-8',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': requestId(),
      'x-ratelimit-limit': String(this.#limit),
      'x-ratelimit-remaining': String(Math.max(0, this.#limit - this.#used)),
      'x-ratelimit-reset': String(this.#reset),
      'x-ratelimit-used': String(this.#used),
      'x-ratelimit-resource': 'core',
    };
  }
}

/** Looks like GitHub's `x-github-request-id` (e.g. `FBF7:0F00:7A846:84170:6347EB33`). */
export function requestId(): string {
  const hex = randomBytes(12).toString('hex').toUpperCase();
  return [hex.slice(0, 4), hex.slice(4, 8), hex.slice(8, 13), hex.slice(13, 18), hex.slice(18, 24)].join(':');
}
