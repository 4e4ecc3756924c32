import type { z } from 'zod';

/** How much of an error answer goes into the error message: enough to say what the service said. */
const ANSWER_SNIPPET = 200;
/** A 429 is retried once when its Retry-After fits this; longer waits are the source's budget lost. */
const MAX_RETRY_AFTER_MS = 2_000;

/** A source's API answered with an error status, or its answer was not the documented shape. */
export class EnrichmentApiError extends Error {
  override name = 'EnrichmentApiError';
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

export interface JsonCall<T> {
  method?: 'GET' | 'POST';
  url: string;
  /** Credentials included; they end up in no error message. */
  headers: Record<string, string>;
  body?: unknown;
  /** The documented answer; an answer of another shape is an error, never half-read. */
  schema: z.ZodType<T>;
  signal: AbortSignal;
  /** For the error message: "sonar issues search". */
  what: string;
}

/**
 * One JSON call to a source's API through fetch. 2xx answers are validated against `schema`; a
 * 429 whose Retry-After is short is tried once more; anything else is an EnrichmentApiError that
 * says the status and the start of the answer (never the request's headers).
 */
export async function callJson<T>(call: JsonCall<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(call.url, {
      method: call.method ?? 'GET',
      headers: {
        accept: 'application/json',
        ...(call.body !== undefined && { 'content-type': 'application/json' }),
        ...call.headers,
      },
      ...(call.body !== undefined && { body: JSON.stringify(call.body) }),
      signal: call.signal,
    });
    const text = await response.text();
    if (response.ok) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new EnrichmentApiError(`${call.what}: the answer is not JSON`, response.status);
      }
      const parsed = call.schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new EnrichmentApiError(
          `${call.what}: unexpected answer (${issue?.path.join('.') || 'body'}: ${issue?.message})`,
          response.status,
        );
      }
      return parsed.data;
    }
    const wait = retryAfterMs(response.headers);
    if (response.status === 429 && attempt === 1 && wait !== undefined && wait <= MAX_RETRY_AFTER_MS) {
      await sleep(wait, call.signal);
      continue;
    }
    const said = text.replace(/\s+/g, ' ').trim();
    throw new EnrichmentApiError(
      `${call.what}: HTTP ${response.status}${said ? `: ${said.slice(0, ANSWER_SNIPPET)}` : ''}`,
      response.status,
    );
  }
}

function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener('abort', aborted, { once: true });
  });
}

/** `base` without trailing slashes, plus `path`, plus the defined query parameters. */
export function apiUrl(base: string, path: string, query: Record<string, string | number | boolean | undefined> = {}) {
  const url = new URL(`${base.replace(/\/+$/, '')}${path}`);
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
  return url.toString();
}
