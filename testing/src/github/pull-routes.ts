import type { GitHubRepoRoute } from './fake-github.ts';
import { objectBody, paginate } from './github-http.ts';
import { pullObject } from './github-objects.ts';
import { createPull, findPull, listPulls, PULL_DOCS, refreshHead, updatePull } from './pull-requests.ts';

export type RegisterRepoRoute = (method: string, path: string, handler: GitHubRepoRoute) => void;

/** `/repos/{owner}/{repo}/pulls…`: create, list (head/base/state filters), get, update. */
export function registerPullRoutes(on: RegisterRepoRoute): void {
  on('GET', '/pulls', async ({ req, repo, render }) => {
    const pulls = listPulls(repo, req.query);
    const { page, headers } = paginate(pulls, req.query, `${render.apiUrl}${req.path}`);
    await Promise.all(page.map((issue) => refreshHead(repo, issue)));
    return { status: 200, body: page.map((issue) => pullObject(render, repo, issue)), headers };
  });

  on('POST', '/pulls', async ({ req, repo, render, nextId }) => {
    const issue = await createPull(repo, objectBody(req, PULL_DOCS.create), nextId());
    const body = pullObject(render, repo, issue);
    return { status: 201, body, headers: { location: String(body.url) } };
  });

  on('GET', '/pulls/:number', async ({ req, repo, render }) => {
    const issue = findPull(repo, req.params.number ?? '', PULL_DOCS.get);
    await refreshHead(repo, issue);
    return { status: 200, body: pullObject(render, repo, issue) };
  });

  on('PATCH', '/pulls/:number', async ({ req, repo, render }) => {
    const issue = findPull(repo, req.params.number ?? '', PULL_DOCS.update);
    await updatePull(repo, issue, objectBody(req, PULL_DOCS.update));
    await refreshHead(repo, issue);
    return { status: 200, body: pullObject(render, repo, issue) };
  });
}
