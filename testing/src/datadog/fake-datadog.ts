import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { FakeHttpServer, type RecordedRequest, sendJson } from '../fake-http-server.ts';
import { type FakeDatadogLog, type FakeDatadogSpan, SearchError, searchLogs, searchSpans } from './search-routes.ts';

export type { FakeDatadogLog, FakeDatadogSpan } from './search-routes.ts';

export interface FakeDatadogOptions {
  /** The key the fake accepts in `DD-API-KEY` (default: a random one). */
  apiKey?: string;
  /** The application key the search endpoints also require in `DD-APPLICATION-KEY` (default: a random one). */
  appKey?: string;
}

export const DATADOG_ALERT_TYPES = [
  'error',
  'warning',
  'info',
  'success',
  'user_update',
  'recommendation',
  'snapshot',
] as const;
export type DatadogAlertType = (typeof DATADOG_ALERT_TYPES)[number];

/** An event as the fake stored it (the Events API v1 fields a client may send). */
export interface DatadogEvent {
  id: number;
  title: string;
  text: string;
  tags: string[];
  alert_type?: DatadogAlertType;
  aggregation_key?: string;
  priority?: 'normal' | 'low';
  source_type_name?: string;
  host?: string;
  date_happened: number;
}

const EVENTS_PATH = '/api/v1/events';
/** Documented limits of the v1 Events API; the fake refuses what exceeds them. */
const TEXT_LIMIT = 4000;
const AGGREGATION_KEY_LIMIT = 100;

class DatadogApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Datadog's Events API v1 (`POST /api/v1/events`), as anton's reporter calls it, and the Logs and
 * Spans search APIs v2 (`POST /api/v2/{logs,spans}/events/search`) as enrichment calls them (both
 * keys required, else 403; `page.limit` at most 5000, else 400; newest first with `-timestamp`): the API key in the
 * `DD-API-KEY` header (or the `api_key` query parameter) else 403 `{"errors":["Forbidden"]}`,
 * `title` and `text` required, enums and documented limits checked (400 `{"errors":[…]}`), 202
 * `{"status":"ok","event":{…}}` on success. Point a client at `fake.url` (`DATADOG_API_URL`).
 * Stored events are in `events()`; faults through `inject`, `serverError`, `rateLimited`.
 */
export class FakeDatadog extends FakeHttpServer {
  #apiKey = '';
  #appKey = '';
  #events: DatadogEvent[] = [];
  #logs: FakeDatadogLog[] = [];
  #spans: FakeDatadogSpan[] = [];
  #ids = 5_000_000_000;

  static async start(options: FakeDatadogOptions = {}): Promise<FakeDatadog> {
    const fake = new FakeDatadog();
    fake.#apiKey = options.apiKey ?? randomBytes(16).toString('hex');
    fake.#appKey = options.appKey ?? randomBytes(20).toString('hex');
    for (const [path, search] of [
      ['/api/v2/logs/events/search', (req: RecordedRequest) => searchLogs(req, fake.#logs)],
      ['/api/v2/spans/events/search', (req: RecordedRequest) => searchSpans(req, fake.#spans)],
    ] as const) {
      fake.route('POST', path, (req, res) => {
        try {
          fake.#authenticate(req.headers, req.query);
          const appKey = req.headers['dd-application-key'];
          if (!sameSecret((Array.isArray(appKey) ? appKey[0] : appKey) ?? '', fake.#appKey)) {
            throw new DatadogApiError(403, 'Forbidden');
          }
          sendJson(res, 200, search(req));
        } catch (err) {
          if (err instanceof SearchError) sendJson(res, err.status, { errors: [err.message] });
          else if (err instanceof DatadogApiError) sendJson(res, err.status, { errors: [err.message] });
          else throw err;
        }
      });
    }
    fake.notFound = (_req, res) => sendJson(res, 404, { errors: ['Not found'] });
    fake.route('POST', EVENTS_PATH, (req, res) => {
      try {
        fake.#authenticate(req.headers, req.query);
        const event = fake.#store(req);
        sendJson(res, 202, { status: 'ok', event: fake.#rendered(event) });
      } catch (err) {
        if (!(err instanceof DatadogApiError)) throw err;
        sendJson(res, err.status, { errors: [err.message] });
      }
    });
    return fake.listen();
  }

  get apiKey(): string {
    return this.#apiKey;
  }

  get appKey(): string {
    return this.#appKey;
  }

  addLog(...logs: FakeDatadogLog[]): this {
    this.#logs.push(...logs);
    return this;
  }

  addSpan(...spans: FakeDatadogSpan[]): this {
    this.#spans.push(...spans);
    return this;
  }

  /** The events accepted so far, oldest first. */
  events(): DatadogEvent[] {
    return this.#events.map((event) => structuredClone(event));
  }

  /** The next `times` requests fail with a Datadog 5xx. */
  serverError(times = 1, status = 500): this {
    return this.inject({ kind: 'status', status, body: { errors: ['Internal Server Error'] } }, { times });
  }

  /** The next `times` requests are rate limited, with Datadog's rate-limit headers. */
  rateLimited(times = 1, resetSeconds = 1): this {
    return this.inject(
      {
        kind: 'status',
        status: 429,
        headers: {
          'x-ratelimit-limit': '1000',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-period': '60',
          'x-ratelimit-reset': String(resetSeconds),
        },
        body: { errors: ['Too many requests'] },
      },
      { times },
    );
  }

  #authenticate(headers: IncomingHttpHeaders, query: URLSearchParams): void {
    const header = headers['dd-api-key'];
    const given = (Array.isArray(header) ? header[0] : header) ?? query.get('api_key') ?? '';
    if (!sameSecret(given, this.#apiKey)) throw new DatadogApiError(403, 'Forbidden');
  }

  #store(req: RecordedRequest): DatadogEvent {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      throw new DatadogApiError(415, 'Unsupported Media Type');
    }
    const body = req.json;
    if (!isObject(body)) throw new DatadogApiError(400, 'Invalid JSON body');
    const text = (field: string): string => {
      const value = body[field];
      if (typeof value !== 'string' || value === '') {
        throw new DatadogApiError(400, `Event ${field} is required and must be a non-empty string`);
      }
      return value;
    };
    const optional = (field: string): string | undefined => {
      const value = body[field];
      if (value === undefined || value === null) return undefined;
      if (typeof value !== 'string') throw new DatadogApiError(400, `Event ${field} must be a string`);
      return value;
    };
    const event: DatadogEvent = {
      id: this.#ids++,
      title: text('title'),
      text: text('text'),
      tags: this.#tags(body.tags),
      date_happened: this.#date(body.date_happened),
    };
    if (event.text.length > TEXT_LIMIT) throw new DatadogApiError(400, `Event text exceeds ${TEXT_LIMIT} characters`);
    const alertType = optional('alert_type');
    if (alertType !== undefined) {
      if (!(DATADOG_ALERT_TYPES as readonly string[]).includes(alertType)) {
        throw new DatadogApiError(400, `Invalid alert_type '${alertType}'`);
      }
      event.alert_type = alertType as DatadogAlertType;
    }
    const priority = optional('priority');
    if (priority !== undefined) {
      if (priority !== 'normal' && priority !== 'low') throw new DatadogApiError(400, `Invalid priority '${priority}'`);
      event.priority = priority;
    }
    const aggregationKey = optional('aggregation_key');
    if (aggregationKey !== undefined) {
      if (aggregationKey.length > AGGREGATION_KEY_LIMIT) {
        throw new DatadogApiError(400, `aggregation_key exceeds ${AGGREGATION_KEY_LIMIT} characters`);
      }
      event.aggregation_key = aggregationKey;
    }
    for (const field of ['source_type_name', 'host'] as const) {
      const value = optional(field);
      if (value !== undefined) event[field] = value;
    }
    this.#events.push(event);
    return event;
  }

  #tags(value: unknown): string[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || !value.every((tag) => typeof tag === 'string')) {
      throw new DatadogApiError(400, 'Event tags must be a list of strings');
    }
    return [...value];
  }

  #date(value: unknown): number {
    if (value === undefined || value === null) return Math.floor(Date.now() / 1000);
    if (!Number.isInteger(value)) throw new DatadogApiError(400, 'date_happened must be an integer POSIX timestamp');
    return value as number;
  }

  #rendered(event: DatadogEvent): Record<string, unknown> {
    return {
      ...event,
      id_str: String(event.id),
      priority: event.priority ?? 'normal',
      alert_type: event.alert_type ?? 'info',
      url: `https://app.datadoghq.com/event/event?id=${event.id}`,
    };
  }
}
