import type { RecordedRequest } from '../fake-http-server.ts';

/** A log as the fake stores it; `attributes` holds the event's attributes (`error.stack`, …). */
export interface FakeDatadogLog {
  timestamp: Date;
  service: string;
  status: 'error' | 'warn' | 'info' | 'debug' | 'critical';
  message: string;
  host?: string;
  tags?: string[];
  attributes?: Record<string, unknown>;
}

/** An APM span; `custom` holds its custom attributes (`error.message`, `error.stack`, `error.type`). */
export interface FakeDatadogSpan {
  timestamp: Date;
  service: string;
  resource: string;
  error: boolean;
  traceId?: string;
  tags?: string[];
  custom?: Record<string, unknown>;
}

export class SearchError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Documented maximum of `page.limit` for both search endpoints. */
const MAX_LIMIT = 5000;

interface SearchRequest {
  query: string;
  from: number;
  to: number;
  limit: number;
  descending: boolean;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `now`, `now-15m`, an ISO date or epoch milliseconds, as Datadog's `from`/`to` accept. */
function time(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') throw new SearchError(400, `invalid ${field}`);
  const relative = /^now(?:-(\d+)([smhd]))?$/.exec(value);
  if (relative) {
    const units: Record<string, number> = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 };
    return Date.now() - (relative[1] ? Number(relative[1]) * (units[relative[2] ?? 's'] ?? 0) : 0);
  }
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new SearchError(400, `invalid ${field}: ${value}`);
  return parsed;
}

function searchRequest(attributes: Record<string, unknown>): SearchRequest {
  const filter = attributes.filter ?? {};
  const page = attributes.page ?? {};
  if (!isObject(filter) || !isObject(page)) throw new SearchError(400, 'invalid filter or page');
  const limit = page.limit ?? 10;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new SearchError(400, `page.limit must be an integer between 1 and ${MAX_LIMIT}`);
  }
  const sort = attributes.sort ?? 'timestamp';
  if (sort !== 'timestamp' && sort !== '-timestamp') throw new SearchError(400, `invalid sort: ${String(sort)}`);
  const now = Date.now();
  return {
    query: typeof filter.query === 'string' ? filter.query : '*',
    from: time(filter.from, 'filter.from', now - 15 * 60_000),
    to: time(filter.to, 'filter.to', now),
    limit,
    descending: sort === '-timestamp',
  };
}

/** `key:value` and `key:"quoted value"` terms, all required; `*` matches everything. */
function terms(query: string): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  const pattern = /([\w.@-]+):(?:"((?:[^"\\]|\\.)*)"|(\S+))|(\S+)/g;
  for (const match of query.matchAll(pattern)) {
    if (match[4] !== undefined) {
      if (match[4] === '*') continue;
      throw new SearchError(400, `unsupported query term in this fake: ${match[4]}`);
    }
    found.push([match[1] ?? '', (match[2] ?? match[3] ?? '').replace(/\\(.)/g, '$1')]);
  }
  return found;
}

function matches(fields: Record<string, string>, tags: string[], query: string): boolean {
  return terms(query).every(([key, value]) => fields[key] === value || tags.includes(`${key}:${value}`));
}

function page<T>(items: T[], request: SearchRequest, at: (item: T) => number) {
  const sorted = items
    .filter((item) => at(item) >= request.from && at(item) <= request.to)
    .sort((a, b) => (request.descending ? at(b) - at(a) : at(a) - at(b)));
  return sorted.slice(0, request.limit);
}

function meta(status: 'done') {
  return { elapsed: 12, request_id: `req-${Math.random().toString(36).slice(2)}`, status };
}

/** `POST /api/v2/logs/events/search`: the body is the request itself. */
export function searchLogs(req: RecordedRequest, logs: FakeDatadogLog[]): unknown {
  if (!isObject(req.json)) throw new SearchError(400, 'invalid JSON body');
  const request = searchRequest(req.json);
  const found = page(
    logs.filter((log) =>
      matches({ service: log.service, status: log.status, host: log.host ?? '' }, log.tags ?? [], request.query),
    ),
    request,
    (log) => log.timestamp.getTime(),
  );
  return {
    data: found.map((log, i) => ({
      id: `AQAAAY${String(i).padStart(10, '0')}`,
      type: 'log',
      attributes: {
        timestamp: log.timestamp.toISOString(),
        service: log.service,
        status: log.status,
        message: log.message,
        ...(log.host !== undefined && { host: log.host }),
        tags: log.tags ?? [],
        attributes: log.attributes ?? {},
      },
    })),
    meta: meta('done'),
    links: {},
  };
}

/** `POST /api/v2/spans/events/search`: the request is wrapped in `data` of type `search_request`. */
export function searchSpans(req: RecordedRequest, spans: FakeDatadogSpan[]): unknown {
  const body = req.json;
  if (!isObject(body) || !isObject(body.data) || body.data.type !== 'search_request') {
    throw new SearchError(400, "data.type must be 'search_request'");
  }
  const request = searchRequest(isObject(body.data.attributes) ? body.data.attributes : {});
  const found = page(
    spans.filter((span) =>
      matches(
        { service: span.service, status: span.error ? 'error' : 'ok', resource_name: span.resource },
        span.tags ?? [],
        request.query,
      ),
    ),
    request,
    (span) => span.timestamp.getTime(),
  );
  return {
    data: found.map((span, i) => ({
      id: `AAAAAZ${String(i).padStart(10, '0')}`,
      type: 'spans',
      attributes: {
        service: span.service,
        resource_name: span.resource,
        trace_id: span.traceId ?? String(1000 + i),
        span_id: String(2000 + i),
        start_timestamp: span.timestamp.toISOString(),
        end_timestamp: new Date(span.timestamp.getTime() + 5).toISOString(),
        status: span.error ? 'error' : 'ok',
        tags: span.tags ?? [],
        custom: span.custom ?? {},
      },
    })),
    meta: { ...meta('done'), page: {} },
    links: {},
  };
}
