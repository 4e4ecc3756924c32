import type { AgentTask } from '@anton/contracts';
import type { Enricher, Enrichment } from '../enricher.ts';
import {
  type DatadogApi,
  type DatadogApiConfig,
  httpDatadogApi,
  type LogEvent,
  type SpanEvent,
} from './datadog-api.ts';

export type DatadogEnricherConfig = DatadogApiConfig;

/** Error evidence from before the alert (the cause) to a little after it. */
const BEFORE_MS = 15 * 60_000;
const AFTER_MS = 5 * 60_000;
const LOG_LIMIT = 200;
const SPAN_LIMIT = 100;
/** Distinct stacks kept, most frequent first. */
const KEEP = 3;
const STACK_LINES = 40;

interface Occurrence {
  kind: string;
  message: string;
  stack: string;
  where: string;
  tags: string[];
}

/**
 * For a Datadog alert: the error logs and APM error spans of the alert's service and scope around
 * the alert time, identical stacks counted once, the most frequent few kept; and the deployed
 * `version` and `git.commit.sha` when the alert or the events carry them.
 */
export function datadogEnricher(config: DatadogEnricherConfig, api: DatadogApi = httpDatadogApi(config)): Enricher {
  return {
    source: 'datadog',
    heading: 'Datadog error evidence',
    async enrich(task: AgentTask, signal: AbortSignal): Promise<Enrichment | undefined> {
      const service = task.labels?.service?.split(',')[0]?.trim() || scopeService(task);
      if (!service) return undefined;
      const scope = scopeTerms(task, service);
      const at = alertTime(task);
      const window = { from: new Date(at - BEFORE_MS), to: new Date(at + AFTER_MS) };
      const query = [`service:${term(service)}`, 'status:error', ...scope].join(' ');

      const logs = await api.searchLogs({ query, ...window, limit: LOG_LIMIT }, signal);
      // Spans are optional evidence: a service without APM (or a key without the scope) still has its logs.
      const spans = await api
        .searchSpans(
          { query: [`service:${term(service)}`, 'status:error', ...scope].join(' '), ...window, limit: SPAN_LIMIT },
          signal,
        )
        .catch(() => [] as SpanEvent[]);

      const logErrors = logs.map(fromLog).filter((o) => o.stack !== '' || o.message !== '');
      const spanErrors = spans.map(fromSpan).filter((o) => o.stack !== '' || o.message !== '');
      const tags = [
        ...(task.labels ? Object.entries(task.labels).map(([k, v]) => `${k}:${v}`) : []),
        ...logErrors.flatMap((o) => o.tags),
        ...spanErrors.flatMap((o) => o.tags),
      ];
      const version = tagValue(tags, 'version');
      const commit = tagValue(tags, 'git.commit.sha');

      const sections = [
        `Service ${service}${scope.length > 0 ? ` (${scope.join(' ')})` : ''}, errors from ${window.from.toISOString()} to ${window.to.toISOString()}.`,
      ];
      if (version || commit) {
        sections.push(
          `Deployed: ${[version && `version ${version}`, commit && `commit ${commit}`].filter(Boolean).join(', ')}.`,
        );
      }
      sections.push(grouped('Error logs', logErrors), grouped('APM error spans', spanErrors));
      if (logErrors.length === 0 && spanErrors.length === 0 && !commit && !version) return undefined;
      return { text: sections.join('\n\n'), ...(commit !== undefined && { deployedCommit: commit }) };
    },
  };
}

function fromLog(event: LogEvent): Occurrence {
  const error = event.attributes.attributes.error ?? {};
  return {
    kind: error.kind ?? error.type ?? '',
    message: error.message ?? (error.stack ? '' : (event.attributes.message ?? '')),
    stack: error.stack ?? '',
    where: [event.attributes.host && `host ${event.attributes.host}`, event.attributes.timestamp]
      .filter(Boolean)
      .join(', '),
    tags: event.attributes.tags,
  };
}

function fromSpan(event: SpanEvent): Occurrence {
  const error = event.attributes.custom.error ?? event.attributes.attributes.error ?? {};
  return {
    kind: error.type ?? error.kind ?? '',
    message: error.message ?? '',
    stack: error.stack ?? '',
    where: [
      event.attributes.resource_name && `resource ${event.attributes.resource_name}`,
      event.attributes.trace_id && `trace ${event.attributes.trace_id}`,
    ]
      .filter(Boolean)
      .join(', '),
    tags: event.attributes.tags,
  };
}

/** Identical stacks (same kind and stack; the message may vary by id) counted once, most frequent first. */
function grouped(title: string, occurrences: Occurrence[]): string {
  if (occurrences.length === 0) return `${title}: none in the window.`;
  const groups = new Map<string, { first: Occurrence; count: number }>();
  for (const o of occurrences) {
    const key = `${o.kind}\n${o.stack || o.message}`;
    const group = groups.get(key);
    if (group) group.count += 1;
    else groups.set(key, { first: o, count: 1 });
  }
  const top = [...groups.values()].sort((a, b) => b.count - a.count).slice(0, KEEP);
  const lines = [
    `${title}: ${occurrences.length} in the window, ${groups.size} distinct; the ${top.length} most frequent:`,
  ];
  for (const { first, count } of top) {
    lines.push(`### ${count}× ${[first.kind, first.message].filter(Boolean).join(': ') || '(no message)'}`);
    if (first.where) lines.push(`latest: ${first.where}`);
    if (first.stack) lines.push(first.stack.split('\n').slice(0, STACK_LINES).join('\n'));
  }
  return lines.join('\n');
}

/** The alert's scope (`env:prod,service:orders`) as query terms, the service itself left out. */
function scopeTerms(task: AgentTask, service: string): string[] {
  const scope = typeof task.raw_payload.alert_scope === 'string' ? task.raw_payload.alert_scope : '';
  return scope
    .split(',')
    .map((t) => t.trim())
    .filter((t) => /^[\w.-]+:[^\s]+$/.test(t) && t !== `service:${service}`)
    .map((t) => {
      const colon = t.indexOf(':');
      return `${t.slice(0, colon)}:${term(t.slice(colon + 1))}`;
    });
}

/** A monitor grouped by service names it only in its scope (`service:orders,env:prod`). */
function scopeService(task: AgentTask): string | undefined {
  const scope = typeof task.raw_payload.alert_scope === 'string' ? task.raw_payload.alert_scope : '';
  const term = scope
    .split(',')
    .map((t) => t.trim())
    .find((t) => t.startsWith('service:'));
  return term?.slice('service:'.length) || undefined;
}

/** A value quoted when it holds anything beyond Datadog's plain query characters. */
function term(value: string): string {
  return /^[\w.\-/]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** The alert's time (`date` or `last_updated`, epoch ms as Datadog renders them), else when the task was made. */
function alertTime(task: AgentTask): number {
  for (const field of ['date', 'last_updated']) {
    const value = Number(task.raw_payload[field]);
    if (Number.isFinite(value) && value > 1e12) return value;
  }
  return Date.parse(task.created_at);
}

function tagValue(tags: string[], key: string): string | undefined {
  const prefix = `${key}:`;
  return tags
    .find((t) => t.startsWith(prefix))
    ?.slice(prefix.length)
    .split(',')[0];
}
