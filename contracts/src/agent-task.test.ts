import { describe, expect, it } from 'vitest';
import { AgentTask } from './agent-task.ts';
import { formatIssues } from './format-issues.ts';

// Exactly what the original Python ingester published (pydantic model_dump_json of its AgentTask).
const original = {
  task_id: '4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d',
  source: 'jira',
  external_id: 'PROJ-123',
  title: 'NullPointerException in OrderService',
  priority: 'P2',
  raw_payload: { webhookEvent: 'jira:issue_created', issue: { key: 'PROJ-123' } },
  created_at: '2025-01-15T10:30:00.123456',
};

function rejection(input: unknown): string {
  const result = AgentTask.safeParse(input);
  if (result.success) throw new Error('expected the task to be rejected');
  return formatIssues(result.error);
}

describe('AgentTask', () => {
  it('accepts a message shaped exactly like the original', () => {
    expect(AgentTask.parse(original)).toEqual(original);
  });

  it('accepts timestamps with an offset or Z, as well as the original offset-less isoformat', () => {
    for (const created_at of ['2025-01-15T10:30:00+00:00', '2025-01-15T10:30:00.123Z', '2025-01-15T10:30:00']) {
      expect(AgentTask.safeParse({ ...original, created_at }).success).toBe(true);
    }
  });

  it('keeps unknown fields so newer producers do not break older consumers', () => {
    const parsed = AgentTask.parse({ ...original, trace_id: 'abc', nested: { x: 1 } });
    expect(parsed).toMatchObject({ trace_id: 'abc', nested: { x: 1 } });
  });

  it('accepts the added optional fields', () => {
    const task = {
      ...original,
      event: 'jira:issue_created',
      description: 'Steps to reproduce…',
      url: 'https://example.atlassian.net/browse/PROJ-123',
      dedup_key: 'jira:10002',
      labels: { project: 'PROJ', bug: 'true' },
      repository: 'https://github.com/acme/orders.git',
    };
    expect(AgentTask.parse(task)).toEqual(task);
  });

  it.each([
    ['task_id', { task_id: 'not-a-uuid' }, /task_id: Invalid UUID/],
    ['source', { source: 'github' }, /source: Invalid option/],
    ['external_id', { external_id: '' }, /external_id: Too small/],
    ['title', { title: 42 }, /title: Invalid input: expected string/],
    ['priority', { priority: 'P5' }, /priority: Invalid option/],
    ['raw_payload', { raw_payload: 'text' }, /raw_payload: Invalid input: expected record/],
    ['created_at', { created_at: 'yesterday' }, /created_at: Invalid ISO datetime/],
    ['labels', { labels: { env: 1 } }, /labels\.env: Invalid input: expected string/],
    ['dedup_key', { dedup_key: '' }, /dedup_key: Too small/],
  ])('rejects a bad %s and names it', (_field, patch, message) => {
    expect(rejection({ ...original, ...patch })).toMatch(message);
  });

  it.each(['task_id', 'source', 'external_id', 'title', 'priority', 'raw_payload', 'created_at'])(
    'rejects a message without %s and names it',
    (field) => {
      const { [field as keyof typeof original]: _dropped, ...rest } = original;
      expect(rejection(rest)).toMatch(new RegExp(`^${field}: `));
    },
  );
});
