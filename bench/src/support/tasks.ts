import { randomUUID } from 'node:crypto';
import { AgentTask } from '@anton/contracts';
import { JIRA_PROJECT, jiraIssueCreated } from './webhooks.ts';

/**
 * The AgentTask the ingester publishes for `jiraIssueCreated(n)`, built here to load the
 * orchestrator straight from the broker (so the ingester is not what limits it).
 */
export function jiraTask(n: number): AgentTask {
  const payload = JSON.parse(jiraIssueCreated(n).toString('utf8')) as {
    issue: { id: string; fields: { summary: string } };
  };
  return AgentTask.parse({
    task_id: randomUUID(),
    source: 'jira',
    external_id: `${JIRA_PROJECT}-${n}`,
    title: payload.issue.fields.summary,
    priority: 'P2',
    raw_payload: payload,
    created_at: new Date().toISOString(),
    event: 'jira:issue_created',
    description: payload.issue.fields.summary,
    url: `https://some-instance-test.atlassian.net/browse/${JIRA_PROJECT}-${n}`,
    labels: { project: JIRA_PROJECT },
    dedup_key: `jira:${payload.issue.id}`,
  });
}
