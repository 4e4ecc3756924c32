import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleRepo, type SampleRepo } from '../git/sample-repo.ts';
import { FakeGitHub } from './fake-github.ts';

/** Octokit logs every failed request; the tests assert on the errors instead. */
const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** Runs `call` and returns the RequestError Octokit raised (status, response.data, headers). */
async function failure(call: Promise<unknown>): Promise<{
  status: number;
  message: string;
  response?: { data: { message: string; errors?: unknown[] }; headers: Record<string, string> };
}> {
  try {
    await call;
  } catch (err) {
    return err as never;
  }
  throw new Error('the call succeeded');
}

describe('FakeGitHub driven by @octokit/rest', () => {
  let fake: FakeGitHub;
  let sample: SampleRepo;
  let octokit: Octokit;
  const acme = { owner: 'acme', repo: 'sample-shop' };

  beforeAll(async () => {
    sample = await createSampleRepo({
      branches: ['no-change'],
      commits: [
        { branch: 'anton/fix-1', message: 'Fix discount', files: { 'src/pricing.js': 'export {};\n' } },
        { branch: 'anton/fix-2', message: 'Other fix', files: { 'NOTES.md': 'x\n' } },
      ],
    });
    fake = await FakeGitHub.start({ token: 'ghp_faketoken' });
    fake.addRepository('acme', 'sample-shop', { bareDir: sample.bareDir, cloneUrl: sample.url });
    fake.addRepository('acme', 'loose');
    octokit = new Octokit({ auth: fake.token, baseUrl: fake.url, log });
  });
  afterAll(async () => {
    await fake.close();
    await sample.cleanup();
  });

  it('serves the repository with GitHub headers, as Octokit sends it', async () => {
    const { data, headers, status } = await octokit.rest.repos.get(acme);
    expect(status).toBe(200);
    expect(data).toMatchObject({ full_name: 'acme/sample-shop', default_branch: 'main', clone_url: sample.url });
    expect(headers['x-github-request-id']).toMatch(/^[0-9A-F:]+$/);
    expect(headers['x-ratelimit-limit']).toBe('5000');
    const seen = fake.received('/repos/acme/sample-shop', 'GET').at(-1);
    expect(seen?.headers.authorization).toBe('token ghp_faketoken');
    expect(seen?.headers.accept).toBe('application/vnd.github.v3+json');
    expect(seen?.headers['user-agent']).toMatch(/^octokit-rest\.js\//);
  });

  it('creates, lists by head, gets and updates a pull request', async () => {
    const created = await octokit.rest.pulls.create({
      ...acme,
      title: 'Fix discount',
      head: 'anton/fix-1',
      base: 'main',
      body: 'Closes SHOP-1',
    });
    expect(created.status).toBe(201);
    const pr = created.data;
    expect(pr).toMatchObject({
      number: 1,
      state: 'open',
      title: 'Fix discount',
      body: 'Closes SHOP-1',
      html_url: 'https://github.com/acme/sample-shop/pull/1',
      url: `${fake.url}/repos/acme/sample-shop/pulls/1`,
      head: { ref: 'anton/fix-1', label: 'acme:anton/fix-1' },
      base: { ref: 'main', sha: sample.mainSha },
    });
    expect(created.headers.location).toBe(pr.url);

    const listed = await octokit.rest.pulls.list({ ...acme, head: 'acme:anton/fix-1', state: 'open' });
    expect(listed.data.map((p) => p.number)).toEqual([1]);
    const none = await octokit.rest.pulls.list({ ...acme, head: 'acme:anton/other', state: 'open' });
    expect(none.data).toEqual([]);

    const updated = await octokit.rest.pulls.update({ ...acme, pull_number: 1, title: 'Fix it', body: 'v2' });
    expect(updated.data).toMatchObject({ title: 'Fix it', body: 'v2', state: 'open' });
    expect((await octokit.rest.pulls.get({ ...acme, pull_number: 1 })).data.title).toBe('Fix it');
    expect(fake.pulls('acme', 'sample-shop')).toMatchObject([{ number: 1, head: 'anton/fix-1', title: 'Fix it' }]);

    await octokit.rest.pulls.update({ ...acme, pull_number: 1, state: 'closed' });
    const closed = await octokit.rest.pulls.list({ ...acme, head: 'acme:anton/fix-1', state: 'closed' });
    expect(closed.data.map((p) => [p.number, p.state])).toEqual([[1, 'closed']]);
    expect((await octokit.rest.pulls.list({ ...acme, head: 'acme:anton/fix-1' })).data).toEqual([]);
  });

  it('rejects a second open pull request for the same head with GitHub 422', async () => {
    await octokit.rest.pulls.create({ ...acme, title: 'First', head: 'acme:anton/fix-2', base: 'main' });
    const err = await failure(
      octokit.rest.pulls.create({ ...acme, title: 'Again', head: 'anton/fix-2', base: 'main' }),
    );
    expect(err.status).toBe(422);
    expect(err.response?.data).toMatchObject({
      message: 'Validation Failed',
      errors: [
        { resource: 'PullRequest', code: 'custom', message: 'A pull request already exists for acme:anton/fix-2.' },
      ],
      documentation_url: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request',
    });
    expect(err.message).toContain('A pull request already exists for acme:anton/fix-2.');
  });

  it('ignores a head filter without the owner, as GitHub does', async () => {
    const all = await octokit.rest.pulls.list({ ...acme, head: 'anton/fix-1', state: 'all' });
    expect(all.data.length).toBeGreaterThan(1);
  });

  it('checks branches against the backing bare repository', async () => {
    const unknown = await failure(octokit.rest.pulls.create({ ...acme, title: 'x', head: 'nope', base: 'main' }));
    expect(unknown.status).toBe(422);
    expect(unknown.response?.data.errors).toEqual([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);

    const badBase = await failure(octokit.rest.pulls.create({ ...acme, title: 'x', head: 'anton/fix-1', base: 'dev' }));
    expect(badBase.response?.data.errors).toEqual([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);

    const empty = await failure(octokit.rest.pulls.create({ ...acme, title: 'x', head: 'no-change', base: 'main' }));
    expect(empty.status).toBe(422);
    expect(empty.response?.data.errors).toEqual([
      { resource: 'PullRequest', code: 'custom', message: 'No commits between main and no-change' },
    ]);
  });

  it('rejects missing fields the way GitHub does', async () => {
    const noTitle = await failure(octokit.rest.pulls.create({ ...acme, head: 'anton/fix-1', base: 'main' } as never));
    expect(noTitle.status).toBe(422);
    expect(noTitle.response?.data.errors).toEqual([{ resource: 'Issue', code: 'missing_field', field: 'title' }]);

    const noHead = await failure(
      octokit.request('POST /repos/{owner}/{repo}/pulls', { ...acme, title: 't', base: 'main' } as never),
    );
    expect(noHead.status).toBe(422);
    expect(noHead.response?.data.message).toBe('Invalid request.\n\n"head" wasn\'t supplied.');

    const res = await fetch(`${fake.url}/repos/acme/sample-shop/pulls`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' },
      body: '{"title": ',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ message: 'Problems parsing JSON' });
  });

  it('answers 401 without or with a wrong token, and 404 for an unknown repository', async () => {
    const wrong = new Octokit({ auth: 'ghp_wrong', baseUrl: fake.url, log });
    const bad = await failure(wrong.rest.repos.get(acme));
    expect(bad.status).toBe(401);
    expect(bad.response?.data).toMatchObject({
      message: 'Bad credentials',
      documentation_url: 'https://docs.github.com/rest',
    });

    const anonymous = new Octokit({ baseUrl: fake.url, log });
    const anon = await failure(anonymous.rest.pulls.list(acme));
    expect(anon.status).toBe(401);
    expect(anon.response?.data.message).toBe('Requires authentication');

    const missing = await failure(octokit.rest.pulls.list({ owner: 'acme', repo: 'missing' }));
    expect(missing.status).toBe(404);
    expect(missing.response?.data.message).toBe('Not Found');
    expect((await failure(octokit.rest.pulls.get({ ...acme, pull_number: 99 }))).status).toBe(404);
  });

  it('adds issue comments and labels to pull requests and issues', async () => {
    const comment = await octokit.rest.issues.createComment({ ...acme, issue_number: 1, body: 'Review: approved' });
    expect(comment.status).toBe(201);
    expect(comment.data).toMatchObject({
      body: 'Review: approved',
      html_url: expect.stringContaining('/pull/1#issuecomment-'),
    });
    expect(fake.comments('acme', 'sample-shop', 1).map((c) => c.body)).toEqual(['Review: approved']);

    const labels = await octokit.rest.issues.addLabels({ ...acme, issue_number: 1, labels: ['anton', 'bugfix'] });
    expect(labels.data.map((l) => l.name)).toEqual(['anton', 'bugfix']);
    expect(fake.labels('acme', 'sample-shop', 1)).toEqual(['anton', 'bugfix']);

    const issue = fake.addIssue('acme', 'sample-shop', { title: 'Bug' });
    await octokit.rest.issues.createComment({ ...acme, issue_number: issue, body: 'Opened a PR' });
    expect(fake.comments('acme', 'sample-shop', issue)).toHaveLength(1);

    const empty = await failure(octokit.rest.issues.createComment({ ...acme, issue_number: 1, body: '' }));
    expect(empty.status).toBe(422);
    expect((await failure(octokit.rest.issues.createComment({ ...acme, issue_number: 404, body: 'x' }))).status).toBe(
      404,
    );
  });

  it('pages lists with a link header Octokit follows', async () => {
    const loose = { owner: 'acme', repo: 'loose' };
    for (const head of ['a', 'b', 'c']) await octokit.rest.pulls.create({ ...loose, title: head, head, base: 'main' });
    const page = await octokit.rest.pulls.list({ ...loose, per_page: 2 });
    expect(page.data).toHaveLength(2);
    expect(page.headers.link).toContain('rel="next"');
    const all = await octokit.paginate(octokit.rest.pulls.list, { ...loose, per_page: 2 });
    expect(all.map((p) => p.title)).toEqual(['c', 'b', 'a']);
  });

  it('injects server errors, secondary rate limits, slow answers and dropped connections', async () => {
    fake.serverError(502, 1, '/repos/acme/sample-shop');
    const server = await failure(octokit.rest.repos.get(acme));
    expect(server.status).toBe(502);
    expect((await octokit.rest.repos.get(acme)).status).toBe(200);

    fake.rateLimited(30, 1);
    const limited = await failure(octokit.rest.pulls.list(acme));
    expect(limited.status).toBe(403);
    expect(limited.response?.headers['retry-after']).toBe('30');
    expect(limited.response?.data.message).toContain('secondary rate limit');

    fake.rateLimited(5, 1, { status: 429 });
    expect((await failure(octokit.rest.pulls.list(acme))).status).toBe(429);

    fake.inject({ kind: 'delay', ms: 50 }, { path: '/repos/acme/sample-shop' });
    expect((await octokit.rest.repos.get(acme)).status).toBe(200);

    fake.inject({ kind: 'drop' });
    const dropped = await failure(octokit.rest.repos.get(acme));
    expect(dropped.status).toBe(500);
    expect((await octokit.rest.repos.get(acme)).status).toBe(200);
  });
});
