import { ReportError } from './report-error.ts';

/** How much of an error answer goes into the error message: enough to say what the service said. */
const ANSWER_SNIPPET = 300;

export interface JsonRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  /** Credentials included; they end up in no error or log. */
  headers: Record<string, string>;
  body?: unknown;
  signal: AbortSignal;
  /** For the error message: "Jira comment on ORD-42". */
  what: string;
}

/**
 * One JSON call to a reporting API. A 2xx answer's JSON is returned (undefined when empty);
 * anything else is a ReportError: retryable for no answer, 408, 429 and 5xx (with the Retry-After
 * the service gave), permanent for the other 4xx (bad credentials, unknown issue, invalid body).
 */
export async function sendJson(request: JsonRequest): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: {
        accept: 'application/json',
        ...(request.body !== undefined && { 'content-type': 'application/json' }),
        ...request.headers,
      },
      ...(request.body !== undefined && { body: JSON.stringify(request.body) }),
      signal: request.signal,
    });
  } catch (err) {
    throw new ReportError(`${request.what}: no answer (${(err as Error).message})`, { retryable: true, cause: err });
  }
  const text = await response.text().catch(() => '');
  if (response.ok) {
    if (text === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  const { status } = response;
  const said = text.replace(/\s+/g, ' ').trim();
  throw new ReportError(
    `${request.what}: HTTP ${status}${said ? `: ${said.length > ANSWER_SNIPPET ? `${said.slice(0, ANSWER_SNIPPET)}…` : said}` : ''}`,
    {
      retryable: status === 408 || status === 429 || status >= 500,
      status,
      retryAfterMs: retryAfter(response.headers),
    },
  );
}

/** `Retry-After` (seconds or an HTTP date), else Datadog's `X-RateLimit-Reset` (seconds). */
function retryAfter(headers: Headers): number | undefined {
  const value = headers.get('retry-after') ?? headers.get('x-ratelimit-reset');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
