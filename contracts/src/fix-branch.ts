import { createHash } from 'node:crypto';

const MAX_SLUG = 60;

/**
 * The original's branch: `fix/<id>` where id is the issue id with every character outside
 * `[A-Za-z0-9_-]` made `-`, trimmed of `-`, at most 60 characters. An id with nothing usable left
 * (all punctuation) gets a short hash instead, so the branch is still valid and stable per issue.
 */
export function branchNameFor(issueId: string): string {
  const trim = (s: string) => s.replace(/^-+|-+$/g, '');
  let slug = trim(trim(issueId.replace(/[^A-Za-z0-9_-]/g, '-')).slice(0, MAX_SLUG));
  if (slug === '') slug = `issue-${createHash('sha256').update(issueId).digest('hex').slice(0, 12)}`;
  return `fix/${slug}`;
}
