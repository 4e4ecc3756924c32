import { readFileSync } from 'node:fs';
import { createSourceRegistry } from '@anton/ingester/sources';

/** The ingester's WEBHOOK_SECRET in every figure. */
export const WEBHOOK_SECRET = 'bench-webhook-secret';

// The ingester's own signing code: the benchmark signs exactly as the verifier expects.
const SOURCES = createSourceRegistry({ jira: { triggerLabel: undefined, triggerStatuses: [] } });

type Json = Record<string, unknown>;

function payload(name: string): Json {
  return JSON.parse(readFileSync(new URL(`../payloads/${name}`, import.meta.url), 'utf8'));
}

/** Real captures (copied from the ingester's fixtures, see ingester/test/fixtures/SOURCES.md). */
const JIRA_ISSUE_CREATED = payload('jira-issue_created.json');
const DATADOG_TRIGGERED = payload('datadog-triggered.json');

export interface SignedWebhook {
  body: Buffer;
  headers: Record<string, string>;
}

export function signedJira(body: Buffer): SignedWebhook {
  return { body, headers: { 'content-type': 'application/json', ...SOURCES.jira.sign(body, WEBHOOK_SECRET) } };
}

/** Datadog signs nothing: the shared secret travels in a header of the webhook's configuration. */
export function signedDatadog(body: Buffer): SignedWebhook {
  return { body, headers: { 'content-type': 'application/json', ...SOURCES.datadog.sign(body, WEBHOOK_SECRET) } };
}

/** JIRA project the issues belong to; the routing file maps it to the sample repository. */
export const JIRA_PROJECT = 'TES';

/** A `jira:issue_created` delivery of issue number `n`: a distinct incident for each `n`. */
export function jiraIssueCreated(n: number): Buffer {
  const body = structuredClone(JIRA_ISSUE_CREATED);
  const issue = body.issue as Json;
  const id = String(100_000 + n);
  issue.id = id;
  issue.key = `${JIRA_PROJECT}-${n}`;
  issue.self = `https://some-instance-test.atlassian.net/rest/api/2/issue/${id}`;
  return Buffer.from(JSON.stringify(body));
}

export type DatadogTransition = 'Triggered' | 'Re-Triggered' | 'Recovered';

/**
 * A Datadog monitor notification from a template that adds the alert variables (FACTS.md):
 * `alert_id`, `alert_cycle_key`, `alert_transition`, `alert_type`, `alert_scope`, and the
 * repository, so the orchestrator can dispatch it.
 */
export function datadogAlert(options: {
  monitor: number;
  cycle: string;
  transition: DatadogTransition;
  eventId: string;
  repository: string;
}): Buffer {
  const { monitor, cycle, transition, eventId, repository } = options;
  const body = structuredClone(DATADOG_TRIGGERED);
  const name = `High error rate on checkout-${monitor}`;
  Object.assign(body, {
    id: eventId,
    title: `[${transition}] ${name}`,
    transition,
    alert_transition: transition,
    alert_type: transition === 'Recovered' ? 'success' : 'error',
    alert_id: String(221_164_000 + monitor),
    alert_cycle_key: cycle,
    alert_scope: `service:checkout-${monitor},env:prod`,
    tags: `service:checkout-${monitor},env:prod`,
    repository,
  });
  return Buffer.from(JSON.stringify(body));
}

export interface Delivery {
  status: number;
  /** The task id of a 202. */
  taskId?: string;
  /** performance.now() when the answer arrived. */
  answeredAt: number;
  /** ms from sending to the answer. */
  ms: number;
}

/** POSTs a signed webhook and notes when the answer came. */
export async function deliver(url: string, webhook: SignedWebhook): Promise<Delivery> {
  const sentAt = performance.now();
  const response = await fetch(url, { method: 'POST', headers: webhook.headers, body: webhook.body });
  const text = await response.text();
  const answeredAt = performance.now();
  const taskId = response.status === 202 ? (JSON.parse(text) as { task_id?: string }).task_id : undefined;
  return { status: response.status, ...(taskId ? { taskId } : {}), answeredAt, ms: answeredAt - sentAt };
}
