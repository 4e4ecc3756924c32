import { createHash } from 'node:crypto';

/** What the fake keeps per repository; the REST shapes below are rendered from it. */
export interface RepoRecord {
  owner: string;
  repo: string;
  id: number;
  defaultBranch: string;
  bareDir?: string;
  cloneUrl?: string;
  /** Pull requests and issues share one number sequence, as on GitHub. */
  nextNumber: number;
  issues: Map<number, IssueRecord>;
}

export interface IssueRecord {
  id: number;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  labels: string[];
  comments: CommentRecord[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** Present when the issue is a pull request. */
  pull?: PullRecord;
}

export interface PullRecord {
  id: number;
  head: string;
  base: string;
  headSha: string;
  baseSha: string;
  draft: boolean;
  maintainerCanModify: boolean;
}

export interface CommentRecord {
  id: number;
  body: string;
  createdAt: string;
  updatedAt: string;
}

/** Everything the renderers need besides the record itself. */
export interface RenderContext {
  apiUrl: string;
  htmlUrl: string;
  login: string;
}

/** Opens an issue (a pull request when `pull` is given) under the repository's next number. */
export function openIssue(
  r: RepoRecord,
  fields: { id: number; title: string; body: string | null; pull?: PullRecord },
): IssueRecord {
  const now = timestamp();
  const issue: IssueRecord = {
    ...fields,
    number: r.nextNumber++,
    state: 'open',
    labels: [],
    comments: [],
    createdAt: now,
    updatedAt: now,
    closedAt: null,
  };
  r.issues.set(issue.number, issue);
  return issue;
}

/** GitHub's timestamp format: ISO 8601 in UTC, without milliseconds. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function nodeId(kind: string, id: number): string {
  return Buffer.from(`${kind}${id}`).toString('base64');
}

/** A stable stand-in commit id for a branch when no real repository backs the fake. */
export function fakeSha(owner: string, repo: string, branch: string): string {
  return createHash('sha1').update(`${owner}/${repo}:${branch}`).digest('hex');
}

export function userObject(ctx: RenderContext, login = ctx.login): Record<string, unknown> {
  return {
    login,
    id: 1,
    node_id: nodeId('User', 1),
    avatar_url: `${ctx.htmlUrl}/${login}.png`,
    url: `${ctx.apiUrl}/users/${login}`,
    html_url: `${ctx.htmlUrl}/${login}`,
    type: 'User',
    site_admin: false,
  };
}

export function repoObject(ctx: RenderContext, r: RepoRecord): Record<string, unknown> {
  const full = `${r.owner}/${r.repo}`;
  return {
    id: r.id,
    node_id: nodeId('Repository', r.id),
    name: r.repo,
    full_name: full,
    private: true,
    visibility: 'private',
    owner: userObject(ctx, r.owner),
    html_url: `${ctx.htmlUrl}/${full}`,
    description: null,
    fork: false,
    url: `${ctx.apiUrl}/repos/${full}`,
    clone_url: r.cloneUrl ?? `${ctx.htmlUrl}/${full}.git`,
    default_branch: r.defaultBranch,
    archived: false,
    disabled: false,
    permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:00:00Z',
    pushed_at: '2024-01-01T00:00:00Z',
  };
}

export function labelObject(ctx: RenderContext, r: RepoRecord, name: string): Record<string, unknown> {
  const id = Number.parseInt(createHash('sha1').update(name).digest('hex').slice(0, 8), 16);
  return {
    id,
    node_id: nodeId('Label', id),
    url: `${ctx.apiUrl}/repos/${r.owner}/${r.repo}/labels/${encodeURIComponent(name)}`,
    name,
    color: 'ededed',
    default: false,
    description: null,
  };
}

export function commentObject(
  ctx: RenderContext,
  r: RepoRecord,
  issue: IssueRecord,
  c: CommentRecord,
): Record<string, unknown> {
  const base = `${ctx.apiUrl}/repos/${r.owner}/${r.repo}`;
  return {
    id: c.id,
    node_id: nodeId('IssueComment', c.id),
    url: `${base}/issues/comments/${c.id}`,
    html_url: `${ctx.htmlUrl}/${r.owner}/${r.repo}/${issue.pull ? 'pull' : 'issues'}/${issue.number}#issuecomment-${c.id}`,
    issue_url: `${base}/issues/${issue.number}`,
    body: c.body,
    user: userObject(ctx),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    author_association: 'MEMBER',
    performed_via_github_app: null,
  };
}

function branchObject(ctx: RenderContext, r: RepoRecord, ref: string, sha: string): Record<string, unknown> {
  return { label: `${r.owner}:${ref}`, ref, sha, user: userObject(ctx, r.owner), repo: repoObject(ctx, r) };
}

export function pullObject(ctx: RenderContext, r: RepoRecord, issue: IssueRecord): Record<string, unknown> {
  const pull = issue.pull;
  if (!pull) throw new Error(`#${issue.number} is not a pull request`);
  const base = `${ctx.apiUrl}/repos/${r.owner}/${r.repo}`;
  const html = `${ctx.htmlUrl}/${r.owner}/${r.repo}/pull/${issue.number}`;
  return {
    url: `${base}/pulls/${issue.number}`,
    id: pull.id,
    node_id: nodeId('PullRequest', pull.id),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${base}/issues/${issue.number}`,
    commits_url: `${base}/pulls/${issue.number}/commits`,
    comments_url: `${base}/issues/${issue.number}/comments`,
    statuses_url: `${base}/statuses/${pull.headSha}`,
    number: issue.number,
    state: issue.state,
    locked: false,
    title: issue.title,
    user: userObject(ctx),
    body: issue.body,
    labels: issue.labels.map((name) => labelObject(ctx, r, name)),
    milestone: null,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt,
    closed_at: issue.closedAt,
    merged_at: null,
    merge_commit_sha: null,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    head: branchObject(ctx, r, pull.head, pull.headSha),
    base: branchObject(ctx, r, pull.base, pull.baseSha),
    author_association: 'MEMBER',
    auto_merge: null,
    draft: pull.draft,
    merged: false,
    mergeable: null,
    mergeable_state: 'unknown',
    merged_by: null,
    comments: issue.comments.length,
    review_comments: 0,
    maintainer_can_modify: pull.maintainerCanModify,
  };
}
