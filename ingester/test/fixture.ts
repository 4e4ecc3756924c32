import { readFileSync } from 'node:fs';

/** A fixture's exact bytes (see test/fixtures/SOURCES.md). */
export function fixture(name: string): Buffer {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
}

/** A fixture parsed, for tests that build variants of it. */
// biome-ignore lint/suspicious/noExplicitAny: tests reach into fixtures freely to build variants
export function fixtureJson(name: string): Record<string, any> {
  return JSON.parse(fixture(name).toString('utf8'));
}

/** The task fields the Jira source makes of jira-issue_created-1.json: what the original made, plus the added fields. */
export const JIRA_CREATED_TASK = {
  external_id: 'TES-41',
  title: 'Unit test summary',
  priority: 'P2',
  event: 'jira:issue_created',
  description: 'Unit test summary\n\nUnit test description, not that long',
  url: 'https://some-instance-test.atlassian.net/browse/TES-41',
  labels: { 'test-label': 'true', issue_type: 'Story', project: 'TES' },
  dedup_key: 'jira:10040',
};
