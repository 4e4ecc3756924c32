import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@anton/testing';

/** The keys the e2e routing config maps to the sample repository. */
export const SAMPLE_KEYS = {
  jiraProject: 'SHOP',
  datadogService: 'sample-shop',
  sonarProject: 'acme_sample-shop',
} as const;

/** The providers' sample payloads kept in the repository (see ingester/test/fixtures/SOURCES.md). */
export const FIXTURES_DIR = join(REPO_ROOT, 'ingester', 'test', 'fixtures');

// biome-ignore lint/suspicious/noExplicitAny: the samples are reached into freely to adapt them
type Payload = Record<string, any>;

function fixture(name: string): Payload {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, name), 'utf8'));
}

const BUG = 'applyDiscount(200, 25) returns -4800 instead of 150';

/**
 * Jira's `jira:issue_created` sample, moved to project SHOP as issue SHOP-<n> (id 20000+n) and
 * describing the sample project's bug.
 */
export function jiraIssueCreated(n: number): Payload {
  const payload = fixture('jira-issue_created-1.json');
  const { issue } = payload;
  issue.id = String(20_000 + n);
  issue.key = `${SAMPLE_KEYS.jiraProject}-${n}`;
  issue.self = issue.self.replace(/\/issue\/\d+$/, `/issue/${issue.id}`);
  issue.fields.project.key = SAMPLE_KEYS.jiraProject;
  issue.fields.summary = BUG;
  issue.fields.description = 'The discount is applied as a factor, not a percentage. See src/pricing.js.';
  return payload;
}

/**
 * Datadog's Triggered sample with the tags and keys a monitor template adds (see FACTS.md):
 * `service:sample-shop`, the monitor id, and the alert cycle that names the incident.
 */
export function datadogAlert(
  eventId: string,
  { cycle = `cycle-${eventId}`, transition = 'Triggered' }: { cycle?: string; transition?: string } = {},
): Payload {
  const payload = fixture('datadog-triggered-2.json');
  payload.id = eventId;
  payload.title = `[${transition}] ${BUG}`;
  payload.transition = transition;
  payload.alert_id = '221164084';
  payload.alert_cycle_key = cycle;
  payload.tags = `service:${SAMPLE_KEYS.datadogService},env:prod`;
  return payload;
}

/** SonarCloud's failed quality gate sample, for project acme_sample-shop, analysis `taskId`. */
export function sonarGateFailed(taskId: string): Payload {
  const payload = fixture('sonar-qualitygate-ERROR-1.json');
  payload.taskId = taskId;
  payload.project.key = SAMPLE_KEYS.sonarProject;
  payload.project.name = 'sample-shop';
  payload.project.url = `https://sonarcloud.io/dashboard?id=${SAMPLE_KEYS.sonarProject}`;
  payload.branch.name = 'main';
  payload.branch.url = payload.project.url;
  return payload;
}
