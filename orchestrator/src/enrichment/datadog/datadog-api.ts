import { z } from 'zod';
import { apiUrl, callJson } from '../http-json.ts';

const ErrorFields = z.looseObject({
  stack: z.string().optional(),
  kind: z.string().optional(),
  type: z.string().optional(),
  message: z.string().optional(),
});

/** One log event of `POST /api/v2/logs/events/search`. */
export const LogEvent = z.looseObject({
  id: z.string(),
  attributes: z.looseObject({
    timestamp: z.string().optional(),
    service: z.string().optional(),
    host: z.string().optional(),
    message: z.string().optional(),
    tags: z.array(z.string()).default([]),
    attributes: z.looseObject({ error: ErrorFields.optional() }).default({}),
  }),
});
export type LogEvent = z.infer<typeof LogEvent>;

export const LogsPage = z.looseObject({ data: z.array(LogEvent).default([]) });

/** One span of `POST /api/v2/spans/events/search`; its error.* tags sit under `custom` (or `attributes`). */
export const SpanEvent = z.looseObject({
  id: z.string(),
  attributes: z.looseObject({
    service: z.string().optional(),
    resource_name: z.string().optional(),
    trace_id: z.string().optional(),
    start_timestamp: z.string().optional(),
    tags: z.array(z.string()).default([]),
    custom: z.looseObject({ error: ErrorFields.optional() }).default({}),
    attributes: z.looseObject({ error: ErrorFields.optional() }).default({}),
  }),
});
export type SpanEvent = z.infer<typeof SpanEvent>;

export const SpansPage = z.looseObject({ data: z.array(SpanEvent).default([]) });

export interface EventQuery {
  query: string;
  from: Date;
  to: Date;
  limit: number;
}

/** The two Datadog search calls enrichment makes. */
export interface DatadogApi {
  searchLogs(query: EventQuery, signal: AbortSignal): Promise<LogEvent[]>;
  searchSpans(query: EventQuery, signal: AbortSignal): Promise<SpanEvent[]>;
}

export interface DatadogApiConfig {
  apiUrl: string;
  apiKey: string;
  /** Reading logs and spans needs an application key besides the API key. */
  appKey: string;
}

export function httpDatadogApi(config: DatadogApiConfig): DatadogApi {
  const headers = { 'dd-api-key': config.apiKey, 'dd-application-key': config.appKey };
  return {
    searchLogs: async ({ query, from, to, limit }, signal) =>
      (
        await callJson({
          method: 'POST',
          url: apiUrl(config.apiUrl, '/api/v2/logs/events/search'),
          headers,
          body: {
            filter: { query, from: from.toISOString(), to: to.toISOString() },
            sort: '-timestamp',
            page: { limit },
          },
          schema: LogsPage,
          signal,
          what: 'datadog logs search',
        })
      ).data,
    searchSpans: async ({ query, from, to, limit }, signal) =>
      (
        await callJson({
          method: 'POST',
          url: apiUrl(config.apiUrl, '/api/v2/spans/events/search'),
          headers,
          body: {
            data: {
              type: 'search_request',
              attributes: {
                filter: { query, from: from.toISOString(), to: to.toISOString() },
                sort: '-timestamp',
                page: { limit },
              },
            },
          },
          schema: SpansPage,
          signal,
          what: 'datadog spans search',
        })
      ).data,
  };
}
