import { FakeGitHub } from '@anton/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { githubClient } from '../clients.ts';
import { openOrUpdatePullRequest, type PullRequestSpec } from './pull-requests.ts';

describe('openOrUpdatePullRequest', () => {
  let github: FakeGitHub;
  let repo = 0;
  let spec: PullRequestSpec;
  const octokit = () => githubClient({ apiUrl: github.url, token: github.token });

  beforeAll(async () => {
    github = await FakeGitHub.start();
  });
  afterAll(() => github.close());
  beforeEach(() => {
    repo += 1;
    github.addRepository('acme', `shop${repo}`);
    spec = {
      owner: 'acme',
      repo: `shop${repo}`,
      head: 'fix/SHOP-1',
      base: 'main',
      title: 'fix(SHOP-1): a',
      body: 'first',
    };
  });

  it('opens a pull request from the branch against the base', async () => {
    const opened = await openOrUpdatePullRequest(octokit(), spec);
    expect(opened).toEqual({ number: 1, url: `https://github.com/acme/shop${repo}/pull/1`, updated: false });
    expect(github.pulls('acme', spec.repo)).toMatchObject([
      { number: 1, head: 'fix/SHOP-1', base: 'main', title: 'fix(SHOP-1): a', body: 'first', state: 'open' },
    ]);
  });

  it('updates the open pull request of the branch instead of opening a second one', async () => {
    await openOrUpdatePullRequest(octokit(), spec);
    const again = await openOrUpdatePullRequest(octokit(), { ...spec, title: 'fix(SHOP-1): b', body: 'second' });
    expect(again).toMatchObject({ number: 1, updated: true });
    const pulls = github.pulls('acme', spec.repo);
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ title: 'fix(SHOP-1): b', body: 'second' });
    expect(github.received(`/repos/acme/${spec.repo}/pulls`, 'POST')).toHaveLength(1);
  });

  it('updates on a 422 "already exists" when the list missed the pull request', async () => {
    await openOrUpdatePullRequest(octokit(), spec);
    // The first list answers empty (as a lagging replica would); the create then meets a 422.
    github.inject({ kind: 'status', status: 200, body: [] }, { method: 'GET', path: `/repos/acme/${spec.repo}/pulls` });
    const raced = await openOrUpdatePullRequest(octokit(), { ...spec, body: 'raced' });
    expect(raced).toMatchObject({ number: 1, updated: true });
    expect(github.pulls('acme', spec.repo)).toHaveLength(1);
    expect(github.pulls('acme', spec.repo)[0]?.body).toBe('raced');
  });

  it('retries a 502 and still ends with one pull request', async () => {
    github.serverError(502, 1, `/repos/acme/${spec.repo}/pulls`);
    const opened = await openOrUpdatePullRequest(octokit(), spec, { retryDelayMs: 1 });
    expect(opened.number).toBe(1);
    expect(github.pulls('acme', spec.repo)).toHaveLength(1);
  });

  it('gives up on a permanent error', async () => {
    await expect(
      openOrUpdatePullRequest(octokit(), { ...spec, repo: 'missing' }, { retryDelayMs: 1 }),
    ).rejects.toMatchObject({
      status: 404,
    });
  });
});
