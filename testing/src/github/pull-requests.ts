import { runGit } from '../git/git-env.ts';
import {
  type GitHubApiError,
  notFound,
  optionalBoolean,
  optionalString,
  requireFields,
  type ValidationError,
  validationFailed,
} from './github-http.ts';
import { fakeSha, type IssueRecord, openIssue, type RepoRecord, timestamp } from './github-objects.ts';

const DOCS = 'https://docs.github.com/rest/pulls/pulls';
export const PULL_DOCS = {
  create: `${DOCS}#create-a-pull-request`,
  list: `${DOCS}#list-pull-requests`,
  get: `${DOCS}#get-a-pull-request`,
  update: `${DOCS}#update-a-pull-request`,
};

/** The commit a branch points at: read from the backing bare repository when there is one. */
export async function branchSha(r: RepoRecord, branch: string): Promise<string | null> {
  if (!r.bareDir) return fakeSha(r.owner, r.repo, branch);
  try {
    return await runGit(['--git-dir', r.bareDir, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]);
  } catch {
    return null;
  }
}

async function commitsBetween(r: RepoRecord, base: string, head: string): Promise<number> {
  if (!r.bareDir) return base === head ? 0 : 1;
  return Number(await runGit(['--git-dir', r.bareDir, 'rev-list', '--count', `${base}..${head}`]));
}

/** `owner:branch` or `branch` → the branch, when it names this repository's owner. */
function headBranch(r: RepoRecord, head: string): string | null {
  const colon = head.indexOf(':');
  if (colon < 0) return head;
  return head.slice(0, colon) === r.owner ? head.slice(colon + 1) : null;
}

function openDuplicate(r: RepoRecord, head: string, base: string, except?: number): IssueRecord | undefined {
  return [...r.issues.values()].find(
    (i) => i.number !== except && i.state === 'open' && i.pull?.head === head && i.pull.base === base,
  );
}

function alreadyExists(r: RepoRecord, head: string, docs: string): GitHubApiError {
  return validationFailed(
    [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${r.owner}:${head}.` }],
    docs,
  );
}

/** POST /repos/{owner}/{repo}/pulls: GitHub's checks, in the order it reports them. */
export async function createPull(r: RepoRecord, body: Record<string, unknown>, id: number): Promise<IssueRecord> {
  const docs = PULL_DOCS.create;
  requireFields(body, ['head', 'base'], docs);
  const title = optionalString(body, 'title', docs);
  const head = optionalString(body, 'head', docs);
  const base = optionalString(body, 'base', docs);
  const text = optionalString(body, 'body', docs);
  const draft = optionalBoolean(body, 'draft', docs) ?? false;
  const maintainerCanModify = optionalBoolean(body, 'maintainer_can_modify', docs) ?? true;

  if (!head || !base)
    throw validationFailed([{ resource: 'PullRequest', code: 'invalid', field: head ? 'base' : 'head' }], docs);
  if (!title) throw validationFailed([{ resource: 'Issue', code: 'missing_field', field: 'title' }], docs);

  const branch = headBranch(r, head);
  const headSha = branch === null ? null : await branchSha(r, branch);
  const baseSha = await branchSha(r, base);
  const invalid: ValidationError[] = [];
  if (baseSha === null) invalid.push({ resource: 'PullRequest', field: 'base', code: 'invalid' });
  if (headSha === null) invalid.push({ resource: 'PullRequest', field: 'head', code: 'invalid' });
  if (invalid.length > 0 || branch === null || headSha === null || baseSha === null) {
    throw validationFailed(invalid, docs);
  }
  if (openDuplicate(r, branch, base)) throw alreadyExists(r, branch, docs);
  if ((await commitsBetween(r, base, branch)) === 0) {
    throw validationFailed(
      [{ resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${branch}` }],
      docs,
    );
  }

  const pull = { id, head: branch, base, headSha, baseSha, draft, maintainerCanModify };
  return openIssue(r, { id, title, body: text ?? null, pull });
}

/** GET /repos/{owner}/{repo}/pulls with GitHub's filters and default order (newest first). */
export function listPulls(r: RepoRecord, query: URLSearchParams): IssueRecord[] {
  const state = query.get('state') ?? 'open';
  if (!['open', 'closed', 'all'].includes(state)) {
    throw validationFailed([{ resource: 'Issue', field: 'state', code: 'invalid' }], PULL_DOCS.list);
  }
  const head = query.get('head');
  // GitHub only filters by head given as `owner:branch`; a bare branch name is silently ignored.
  const headFilter = head?.includes(':') ? head : null;
  const base = query.get('base');
  const pulls = [...r.issues.values()].filter(
    (i) =>
      i.pull &&
      (state === 'all' || i.state === state) &&
      (headFilter === null || `${r.owner}:${i.pull.head}` === headFilter) &&
      (base === null || i.pull.base === base),
  );
  const ascending = query.get('direction') === 'asc';
  return pulls.sort((a, b) => (ascending ? a.number - b.number : b.number - a.number));
}

export function findPull(r: RepoRecord, number: string, docs: string): IssueRecord {
  const issue = /^\d+$/.test(number) ? r.issues.get(Number(number)) : undefined;
  if (!issue?.pull) throw notFound(docs);
  return issue;
}

/** PATCH /repos/{owner}/{repo}/pulls/{number}: title, body, state, base. */
export async function updatePull(r: RepoRecord, issue: IssueRecord, body: Record<string, unknown>): Promise<void> {
  const docs = PULL_DOCS.update;
  const pull = issue.pull;
  if (!pull) throw notFound(docs);
  const title = optionalString(body, 'title', docs);
  const text = optionalString(body, 'body', docs);
  const state = optionalString(body, 'state', docs);
  const base = optionalString(body, 'base', docs);
  if (state !== undefined && state !== 'open' && state !== 'closed') {
    throw validationFailed([{ resource: 'PullRequest', code: 'invalid', field: 'state' }], docs);
  }
  if (title !== undefined && title.trim() === '') {
    throw validationFailed([{ resource: 'Issue', code: 'missing_field', field: 'title' }], docs);
  }
  const newBase = base ?? pull.base;
  const baseSha = base === undefined ? pull.baseSha : await branchSha(r, base);
  if (baseSha === null) throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }], docs);
  if ((state ?? issue.state) === 'open' && openDuplicate(r, pull.head, newBase, issue.number)) {
    throw alreadyExists(r, pull.head, docs);
  }

  const now = timestamp();
  if (title !== undefined) issue.title = title;
  if (text !== undefined) issue.body = text;
  if (state !== undefined && state !== issue.state) {
    issue.state = state;
    issue.closedAt = state === 'closed' ? now : null;
  }
  pull.base = newBase;
  pull.baseSha = baseSha;
  issue.updatedAt = now;
}

/** Re-reads the head commit, so a force-pushed branch shows its new sha as on GitHub. */
export async function refreshHead(r: RepoRecord, issue: IssueRecord): Promise<void> {
  if (!issue.pull || issue.state !== 'open') return;
  const sha = await branchSha(r, issue.pull.head);
  if (sha) issue.pull.headSha = sha;
}
