import type { RecordedRequest } from '../fake-http-server.ts';
import { DOCS_URL, GitHubApiError, jsonBody, notFound, objectBody, paginate, requireFields } from './github-http.ts';
import { commentObject, type IssueRecord, labelObject, type RepoRecord, timestamp } from './github-objects.ts';
import type { RegisterRepoRoute } from './pull-routes.ts';

const COMMENT_DOCS = `${DOCS_URL}/issues/comments#create-an-issue-comment`;
const LABEL_DOCS = `${DOCS_URL}/issues/labels#add-labels-to-an-issue`;

function findIssue(repo: RepoRecord, req: RecordedRequest, docs: string): IssueRecord {
  const number = req.params.number ?? '';
  const issue = /^\d+$/.test(number) ? repo.issues.get(Number(number)) : undefined;
  if (!issue) throw notFound(docs);
  return issue;
}

/** Label names from `{labels: [...]}` or a bare array, each a name or `{name}`, as GitHub accepts. */
function labelNames(req: RecordedRequest): string[] {
  const body = jsonBody(req, LABEL_DOCS);
  const list = Array.isArray(body) ? body : (objectBody(req, LABEL_DOCS).labels ?? []);
  if (!Array.isArray(list)) {
    throw new GitHubApiError(
      422,
      `Invalid request.\n\nFor 'properties/labels', ${JSON.stringify(list)} is not an array.`,
      LABEL_DOCS,
    );
  }
  return list.map((item: unknown) => {
    const name = typeof item === 'object' && item !== null ? (item as { name?: unknown }).name : item;
    if (typeof name !== 'string' || name.trim() === '') {
      throw new GitHubApiError(422, 'Validation Failed', LABEL_DOCS, {
        errors: [{ resource: 'Label', code: 'invalid', field: 'name', value: name ?? null }],
      });
    }
    return name;
  });
}

/** `/repos/{owner}/{repo}/issues/{number}/…`: comments and labels (pull requests are issues too). */
export function registerIssueRoutes(on: RegisterRepoRoute): void {
  on('GET', '/issues/:number/comments', ({ req, repo, render }) => {
    const issue = findIssue(repo, req, COMMENT_DOCS);
    const { page, headers } = paginate(issue.comments, req.query, `${render.apiUrl}${req.path}`);
    return { status: 200, body: page.map((c) => commentObject(render, repo, issue, c)), headers };
  });

  on('POST', '/issues/:number/comments', ({ req, repo, render, nextId }) => {
    const issue = findIssue(repo, req, COMMENT_DOCS);
    const body = objectBody(req, COMMENT_DOCS);
    requireFields(body, ['body'], COMMENT_DOCS);
    if (typeof body.body !== 'string') {
      throw new GitHubApiError(
        422,
        `Invalid request.\n\nFor 'properties/body', ${JSON.stringify(body.body)} is not a string.`,
        COMMENT_DOCS,
      );
    }
    if (body.body.trim() === '') {
      throw new GitHubApiError(422, 'Validation Failed', COMMENT_DOCS, {
        errors: [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }],
      });
    }
    const now = timestamp();
    const comment = { id: nextId(), body: body.body, createdAt: now, updatedAt: now };
    issue.comments.push(comment);
    const rendered = commentObject(render, repo, issue, comment);
    return { status: 201, body: rendered, headers: { location: String(rendered.url) } };
  });

  on('GET', '/issues/:number/labels', ({ req, repo, render }) => {
    const issue = findIssue(repo, req, LABEL_DOCS);
    return { status: 200, body: issue.labels.map((name) => labelObject(render, repo, name)) };
  });

  on('POST', '/issues/:number/labels', ({ req, repo, render }) => {
    const issue = findIssue(repo, req, LABEL_DOCS);
    for (const name of labelNames(req)) if (!issue.labels.includes(name)) issue.labels.push(name);
    return { status: 200, body: issue.labels.map((name) => labelObject(render, repo, name)) };
  });
}
