import { describe, expect, it } from 'vitest';
import { formatIssues } from './format-issues.ts';
import { RunnerContext } from './runner-context.ts';

const handWritten = {
  repo_url: 'https://github.com/acme/orders.git',
  task_description: 'Fix the NPE in OrderService',
  issue_id: 'PROJ-123',
};

function rejection(input: unknown): string {
  const result = RunnerContext.safeParse(input);
  if (result.success) throw new Error('expected the context to be rejected');
  return formatIssues(result.error);
}

describe('RunnerContext (task.json)', () => {
  it("accepts the original's hand-written form and defaults the base branch to main", () => {
    expect(RunnerContext.parse(handWritten)).toEqual({ ...handWritten, base_branch: 'main' });
  });

  it("accepts the orchestrator's full form", () => {
    const full = {
      ...handWritten,
      base_branch: 'release/2.x',
      task: {
        task_id: '4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d',
        source: 'jira',
        external_id: 'PROJ-123',
        title: 'NPE',
        priority: 'P1',
        raw_payload: {},
        created_at: '2025-01-15T10:30:00Z',
      },
      plan: { template_id: 'java-backend', complexity: 'low', required_skills: ['java'], context_summary: 'NPE' },
      routed_by: 'llm',
      instructions: 'Run mvn -q test',
    };
    expect(RunnerContext.parse(full)).toEqual(full);
  });

  it.each(['file:///tmp/repo.git', 'http://127.0.0.1:9999/acme/orders.git', 'git@github.com:acme/orders.git'])(
    'accepts the repository URL %s',
    (repo_url) => {
      expect(RunnerContext.safeParse({ ...handWritten, repo_url }).success).toBe(true);
    },
  );

  it.each([
    ['an option-looking repository', { repo_url: '--upload-pack=touch /tmp/pwned' }, /^repo_url: /],
    ['an ext:: transport', { repo_url: 'ext::sh -c touch% /tmp/pwned' }, /^repo_url: /],
    ['a base branch with ..', { base_branch: 'main/../../x' }, /^base_branch: /],
    ['a base branch starting with -', { base_branch: '-f' }, /^base_branch: /],
    ['an empty description', { task_description: '' }, /^task_description: /],
    ['a missing issue id', { issue_id: undefined }, /^issue_id: /],
    [
      'an unknown template',
      { plan: { template_id: 'rust', complexity: 'low', required_skills: [], context_summary: 'x' } },
      /^plan\.template_id: /,
    ],
  ])('rejects %s and names the field', (_case, patch, message) => {
    expect(rejection({ ...handWritten, ...patch })).toMatch(message);
  });
});
