import type { IncomingHttpHeaders } from 'node:http';
import type { Priority } from '@anton/contracts';
import { z } from 'zod';
import type { JiraTriggers } from '../config.ts';
import { headerValue, hmacSha256Hex, verifyHmacSha256 } from '../webhook-auth.ts';
import { jiraDescriptionText } from './jira-text.ts';
import { interpretWith, type TaskDraft, textValue, type WebhookSource } from './webhook-source.ts';

const SIGNATURE_HEADER = 'x-hub-signature';
const DELIVERY_HEADER = 'x-atlassian-webhook-identifier';

const named = z.looseObject({ name: z.string().nullish() }).nullish();

const JiraIssue = z.looseObject({
  id: textValue.pipe(z.string().min(1)),
  key: z.string().min(1).optional(),
  self: z.string().optional(),
  fields: z
    .looseObject({
      summary: z.string().nullish(),
      description: z.unknown().optional(),
      labels: z.array(z.string()).nullish(),
      priority: named,
      issuetype: named,
      project: z.looseObject({ key: z.string().nullish() }).nullish(),
    })
    .default({}),
});

// `toString` is read by hand: declared in a zod shape it would match Object.prototype.toString.
const ChangelogItem = z.looseObject({ field: z.string(), fromString: z.string().nullish() }).transform((item) => {
  const to: unknown = Object.hasOwn(item, 'toString') ? (item as Record<string, unknown>).toString : undefined;
  return { field: item.field.toLowerCase(), from: item.fromString ?? '', to: typeof to === 'string' ? to : '' };
});

export const JiraPayload = z
  .looseObject({
    webhookEvent: z.string().min(1),
    issue: JiraIssue.optional(),
    changelog: z.looseObject({ items: z.array(ChangelogItem).default([]) }).nullish(),
  })
  .superRefine((payload, ctx) => {
    if (payload.webhookEvent.startsWith('jira:issue_') && !payload.issue) {
      ctx.addIssue({ code: 'custom', path: ['issue'], message: `required for ${payload.webhookEvent} events` });
    }
  });
export type JiraPayload = z.output<typeof JiraPayload>;
type JiraIssue = z.output<typeof JiraIssue>;

/** The original's rule, by priority name, case-insensitive; anything else or missing is P3. */
const PRIORITY_BY_NAME: Record<string, Priority> = {
  highest: 'P1',
  critical: 'P1',
  blocker: 'P1',
  high: 'P2',
  major: 'P2',
  medium: 'P3',
  normal: 'P3',
  low: 'P4',
  lowest: 'P4',
  minor: 'P4',
  trivial: 'P4',
};

export function jiraPriority(name: string | null | undefined): Priority {
  return PRIORITY_BY_NAME[(name ?? '').trim().toLowerCase()] ?? 'P3';
}

/** Created issues start work (only labelled ones when a label is set); updates only when they trigger. */
export function jiraIgnoreReason(payload: JiraPayload, triggers: JiraTriggers): string | undefined {
  const { triggerLabel, triggerStatuses } = triggers;
  if (payload.webhookEvent === 'jira:issue_created') {
    const labels = payload.issue?.fields.labels ?? [];
    if (triggerLabel && !labels.includes(triggerLabel)) return `issue created without the label "${triggerLabel}"`;
    return undefined;
  }
  if (payload.webhookEvent === 'jira:issue_updated') {
    if (!triggerLabel && triggerStatuses.length === 0) {
      return 'issue updates start work only when JIRA_TRIGGER_LABEL or JIRA_TRIGGER_STATUSES is set';
    }
    const items = payload.changelog?.items ?? [];
    const words = (value: string) => value.split(/\s+/).filter(Boolean);
    const addsLabel = items.some(
      (item) =>
        item.field === 'labels' &&
        triggerLabel !== undefined &&
        words(item.to).includes(triggerLabel) &&
        !words(item.from).includes(triggerLabel),
    );
    const wanted = new Set(triggerStatuses.map((status) => status.toLowerCase()));
    const entersStatus = items.some(
      (item) => item.field === 'status' && wanted.has(item.to.toLowerCase()) && !wanted.has(item.from.toLowerCase()),
    );
    if (addsLabel || entersStatus) return undefined;
    return 'issue update neither adds the trigger label nor moves the issue into a trigger status';
  }
  return `${payload.webhookEvent} events do not start work`;
}

export function normalizeJira(payload: JiraPayload): TaskDraft {
  // interpretWith only normalizes events that passed the filter, and those carry an issue.
  const issue = payload.issue as JiraIssue;
  const { fields } = issue;
  const summary = fields.summary ?? issue.key ?? issue.id;
  const body = jiraDescriptionText(fields.description);
  const labels: Record<string, string> = {};
  for (const label of fields.labels ?? []) labels[label] = 'true';
  if (fields.issuetype?.name) labels.issue_type = fields.issuetype.name;
  if (fields.project?.key) labels.project = fields.project.key;
  return {
    external_id: issue.key ?? issue.id,
    title: summary,
    priority: jiraPriority(fields.priority?.name),
    event: payload.webhookEvent,
    description: body ? `${summary}\n\n${body}` : summary,
    url: browseUrl(issue),
    labels,
    // issue.id, not the key: keys change when an issue moves to another project.
    dedup_key: `jira:${issue.id}`,
  };
}

/** `https://site/rest/api/2/issue/10040` → `https://site/browse/TES-41`. */
function browseUrl(issue: JiraIssue): string | undefined {
  if (!issue.self || !issue.key) return undefined;
  const at = issue.self.indexOf('/rest/api/');
  return at === -1 ? undefined : `${issue.self.slice(0, at)}/browse/${issue.key}`;
}

export function jiraWebhook(triggers: JiraTriggers): WebhookSource {
  return {
    source: 'jira',
    path: 'jira',
    encodings: ['json'],
    authenticate(headers, rawBody, secret) {
      const signature = headerValue(headers, SIGNATURE_HEADER);
      const hex = signature?.toLowerCase().startsWith('sha256=') ? signature.slice('sha256='.length) : undefined;
      return verifyHmacSha256(rawBody, secret, hex);
    },
    sign: (rawBody, secret) => ({ [SIGNATURE_HEADER]: `sha256=${hmacSha256Hex(rawBody, secret)}` }),
    deliveryId: (headers: IncomingHttpHeaders) => headerValue(headers, DELIVERY_HEADER),
    interpret: interpretWith(JiraPayload, (payload) => jiraIgnoreReason(payload, triggers), normalizeJira),
  };
}
