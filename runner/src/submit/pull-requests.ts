import type { Octokit } from '@octokit/rest';

export interface PullRequestSpec {
  owner: string;
  repo: string;
  /** The branch with the change. */
  head: string;
  base: string;
  title: string;
  body: string;
  /** Opened as a draft (an existing pull request keeps its state: the REST API cannot change it). */
  draft?: boolean;
}

export interface OpenedPullRequest {
  number: number;
  url: string;
  /** An open pull request for the branch existed (a retried run) and was updated instead. */
  updated: boolean;
}

const ATTEMPTS = 3;

/**
 * Opens the pull request, or updates the open one for the same branch, so a retried Job never
 * opens a second one. A create that failed with 5xx may still have gone through, so each attempt
 * looks for an existing pull request first, and a 422 "already exists" is answered by updating it.
 */
export async function openOrUpdatePullRequest(
  octokit: Octokit,
  spec: PullRequestSpec,
  { retryDelayMs = 1_000 }: { retryDelayMs?: number } = {},
): Promise<OpenedPullRequest> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptOpenOrUpdate(octokit, spec);
    } catch (err) {
      if (attempt >= ATTEMPTS || !isTransient(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs * attempt));
    }
  }
}

async function attemptOpenOrUpdate(octokit: Octokit, spec: PullRequestSpec): Promise<OpenedPullRequest> {
  const existing = await findOpen(octokit, spec);
  if (existing !== undefined) return update(octokit, spec, existing);
  try {
    const { data } = await octokit.rest.pulls.create({
      owner: spec.owner,
      repo: spec.repo,
      head: spec.head,
      base: spec.base,
      title: spec.title,
      body: spec.body,
      ...(spec.draft ? { draft: true } : {}),
    });
    return { number: data.number, url: data.html_url, updated: false };
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    const raced = await findOpen(octokit, spec);
    if (raced === undefined) throw err;
    return update(octokit, spec, raced);
  }
}

async function findOpen(octokit: Octokit, spec: PullRequestSpec): Promise<number | undefined> {
  const { data } = await octokit.rest.pulls.list({
    owner: spec.owner,
    repo: spec.repo,
    head: `${spec.owner}:${spec.head}`,
    state: 'open',
    per_page: 1,
  });
  return data[0]?.number;
}

async function update(octokit: Octokit, spec: PullRequestSpec, number: number): Promise<OpenedPullRequest> {
  const { data } = await octokit.rest.pulls.update({
    owner: spec.owner,
    repo: spec.repo,
    pull_number: number,
    // No base: a pull request is never retargeted (the credential proxy refuses it too).
    title: spec.title,
    body: spec.body,
  });
  return { number: data.number, url: data.html_url, updated: true };
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

function isTransient(err: unknown): boolean {
  const status = statusOf(err);
  return status === undefined || status >= 500 || status === 429;
}

function isAlreadyExists(err: unknown): boolean {
  if (statusOf(err) !== 422) return false;
  const data = (err as { response?: { data?: unknown } }).response?.data;
  return /already exists/i.test(JSON.stringify(data ?? (err as Error).message ?? ''));
}
