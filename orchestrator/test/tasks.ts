import { randomUUID } from 'node:crypto';
import type { AgentTask } from '@anton/contracts';

/** A valid AgentTask for tests; override what the test is about. */
export function makeTask(overrides: Partial<AgentTask> = {}): AgentTask {
  return {
    task_id: randomUUID(),
    source: 'jira',
    external_id: 'ORD-42',
    title: 'NullPointerException in OrderService.total',
    priority: 'P2',
    raw_payload: { webhookEvent: 'jira:issue_created' },
    created_at: '2025-01-15T10:30:00Z',
    description: 'Checkout fails with an NPE when the cart holds a discounted item.',
    url: 'https://acme.atlassian.net/browse/ORD-42',
    labels: { project: 'ORD' },
    ...overrides,
  };
}
