import type { Priority } from '@anton/contracts';
import { z } from 'zod';
import { basicAuthPassword, headerValue, SHARED_SECRET_HEADER, secretMatches } from '../webhook-auth.ts';
import { interpretWith, type TaskDraft, textValue, type WebhookSource } from './webhook-source.ts';

/**
 * Datadog sends whatever template the user wrote, all values as strings. These are the keys read:
 * the default template's (`id`, `title`, `body`, `event_type`, ...) plus those a template should add
 * (see FACTS.md): `alert_id`, `alert_cycle_key`, `alert_transition` (or `transition`), `alert_type`,
 * `alert_priority`, `alert_status`, `alert_scope`, `tags`, `link`, `logs_sample` (`$LOGS_SAMPLE`: the
 * log lines of a log monitor), `alert_query`, `hostname`, and optionally `repository`.
 * `priority` is the *event* priority (normal/low), not a P-level, so it is not read.
 */
// Datadog renders a variable it has no value for as an empty string: that is "absent" here.
const value = textValue.nullish().transform((v) => (v === '' || v === null ? undefined : v));

export const DatadogPayload = z
  .looseObject({
    id: value,
    event_id: value,
    alert_id: value,
    title: value,
    alert_title: value,
    body: value,
    message: value,
    event_type: value,
    alert_transition: value,
    transition: value,
    alert_type: value,
    alert_priority: value,
    alert_status: value,
    alert_scope: value,
    alert_cycle_key: value,
    tags: z.union([value, z.array(z.string())]),
    link: value,
    repository: value,
    logs_sample: value,
    alert_query: value,
    hostname: value,
  })
  .superRefine((payload, ctx) => {
    if (!payload.id && !payload.event_id && !payload.alert_id) {
      ctx.addIssue({ code: 'custom', path: ['id'], message: 'required: one of id, event_id or alert_id' });
    }
  });
export type DatadogPayload = z.output<typeof DatadogPayload>;

// Documented template variables; one left in a value means the template was never rendered.
const TEMPLATE_VARIABLE =
  /\$(?:ID|DATE|LAST_UPDATED|LINK|SNAPSHOT|HOSTNAME|USER|USERNAME|EMAIL|PRIORITY|AGGREG_KEY|TAGS|TEXT_ONLY_MSG|LOGS_SAMPLE|METRIC_NAMESPACE|ORG_ID|ORG_NAME|(?:ALERT|EVENT|INCIDENT|SECURITY|SYNTHETICS)_[A-Z_]+)\b/;

const TRANSITION_IN_TITLE = /^\[(Re-Triggered|Triggered|Re-Warn|Warn|Re-No Data|No Data|Recovered|Renotify)\b/i;

function transition(payload: DatadogPayload): string | undefined {
  return payload.alert_transition ?? payload.transition ?? TRANSITION_IN_TITLE.exec(payload.title ?? '')?.[1];
}

function unrenderedVariable(node: unknown, path: string): string | undefined {
  if (typeof node === 'string') {
    const match = TEMPLATE_VARIABLE.exec(node);
    return match ? `${path || 'body'} holds the unrendered template variable ${match[0]}` : undefined;
  }
  if (typeof node !== 'object' || node === null) return undefined;
  for (const [key, child] of Object.entries(node)) {
    const found = unrenderedVariable(child, path ? `${path}.${key}` : key);
    if (found) return found;
  }
  return undefined;
}

export function datadogIgnoreReason(payload: DatadogPayload): string | undefined {
  const unrendered = unrenderedVariable(payload, '');
  if (unrendered) return unrendered;
  if (payload.title?.includes('[TEST]') || message(payload).includes('Test notification triggered by')) {
    return 'test notification';
  }
  if (transition(payload)?.toLowerCase() === 'recovered' || payload.alert_type?.toLowerCase() === 'success') {
    return 'recovery: the alert resolved';
  }
  return undefined;
}

const PRIORITY_BY_STATUS: Record<string, Priority> = {
  triggered: 'P1',
  're-triggered': 'P1',
  warn: 'P2',
  're-warn': 'P2',
  'no data': 'P3',
  're-no data': 'P3',
  recovered: 'P4',
};

/** The original's rule (`alert_priority`, then `alert_status`), then the transition; else P3. */
export function datadogPriority(payload: DatadogPayload): Priority {
  const level = /^p([1-5])$/i.exec(payload.alert_priority?.trim() ?? '')?.[1];
  if (level) return `P${Math.min(Number(level), 4)}` as Priority;
  for (const status of [payload.alert_status, transition(payload)]) {
    const priority = PRIORITY_BY_STATUS[(status ?? '').trim().toLowerCase()];
    if (priority) return priority;
  }
  return 'P3';
}

/** The event text without the `%%%` markers Datadog wraps its Markdown in. */
function message(payload: DatadogPayload): string {
  return (payload.body ?? payload.message ?? '')
    .replace(/^\s*%%%\s*\n?/, '')
    .replace(/\n?\s*%%%\s*$/, '')
    .trim();
}

function tagList(payload: DatadogPayload): string[] {
  const tags = Array.isArray(payload.tags) ? payload.tags : (payload.tags ?? '').split(',');
  return tags.map((tag) => tag.trim()).filter(Boolean);
}

/** `key:value` tags as labels (split at the first colon; repeated keys joined); bare tags as `true`. */
export function tagLabels(tags: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const tag of tags) {
    const colon = tag.indexOf(':');
    const [key, val] = colon === -1 ? [tag, 'true'] : [tag.slice(0, colon), tag.slice(colon + 1)];
    const seen = labels[key]?.split(',') ?? [];
    labels[key] = seen.includes(val) ? seen.join(',') : [...seen, val].join(',');
  }
  return labels;
}

/** A repository as a clone URL: `github.com/o/r` (how Datadog's git tags often read) gets https. */
export function cloneUrl(repository: string): string {
  const scp = /^[\w.-]+@([^:/]+):(.+)$/.exec(repository);
  if (scp) return `https://${scp[1]}/${scp[2]}`;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repository) ? repository : `https://${repository}`;
}

function monitorLink(text: string): string | undefined {
  return /\[Monitor Status\]\((https?:\/\/[^)\s]+)\)/.exec(text)?.[1];
}

export function normalizeDatadog(payload: DatadogPayload): TaskDraft {
  const externalId = (payload.id ?? payload.event_id ?? payload.alert_id) as string;
  const title = payload.title ?? payload.alert_title ?? `Datadog alert ${payload.alert_id ?? externalId}`;
  const text = message(payload);
  const tags = tagList(payload);
  const labels = tagLabels(tags);
  const url = payload.link ?? monitorLink(text);
  const repository = payload.repository ?? labels['git.repository_url'];
  const details = [
    transition(payload) && `Transition: ${transition(payload)}`,
    payload.alert_scope && `Scope: ${payload.alert_scope}`,
    payload.alert_query && `Query: ${payload.alert_query}`,
    payload.hostname && `Host: ${payload.hostname}`,
    tags.length > 0 && `Tags: ${tags.join(', ')}`,
    url && `Link: ${url}`,
  ].filter(Boolean);
  return {
    external_id: externalId,
    title,
    priority: datadogPriority(payload),
    event: payload.event_type ?? transition(payload),
    description: [
      title,
      text,
      details.join('\n'),
      payload.logs_sample && `Logs sample (from the alert):\n${payload.logs_sample}`,
    ]
      .filter(Boolean)
      .join('\n\n'),
    url,
    labels,
    dedup_key: datadogDedupKey(payload, externalId),
    repository: repository ? cloneUrl(repository) : undefined,
  };
}

/** The incident: the alert cycle, else the monitor and its group, else only this event. */
function datadogDedupKey(payload: DatadogPayload, externalId: string): string {
  if (payload.alert_cycle_key) return `datadog:cycle:${payload.alert_cycle_key}`;
  if (payload.alert_id) {
    const scope = (payload.alert_scope ?? '')
      .split(',')
      .map((tag) => tag.trim())
      .filter(Boolean)
      .sort()
      .join(',');
    return `datadog:monitor:${payload.alert_id}${scope ? `:${scope}` : ''}`;
  }
  return `datadog:event:${externalId}`;
}

export const datadogWebhook: WebhookSource = {
  source: 'datadog',
  path: 'datadog',
  encodings: ['json', 'form'],
  // Datadog signs nothing: a custom header, or Basic auth in the webhook URL, carries the secret.
  authenticate: (headers, _rawBody, secret) =>
    secretMatches(headerValue(headers, SHARED_SECRET_HEADER), secret) ||
    secretMatches(basicAuthPassword(headerValue(headers, 'authorization')), secret),
  sign: (_rawBody, secret) => ({ [SHARED_SECRET_HEADER]: secret }),
  interpret: interpretWith(DatadogPayload, datadogIgnoreReason, normalizeDatadog),
};
