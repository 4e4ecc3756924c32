import { type AdfDoc, adfProblem, adfToText, textToAdf } from './adf.ts';
import type { JiraCommentRecord, JiraIssueRoute, JiraRouteContext } from './fake-jira.ts';
import { jiraError, jiraTimestamp, jsonObjectBody } from './jira-http.ts';

export type RegisterIssueRoute = (method: string, path: string, handler: JiraIssueRoute) => void;

function author(ctx: JiraRouteContext): Record<string, unknown> {
  return {
    self: `${ctx.baseUrl}/rest/api/${ctx.version}/user?accountId=5b10ac8d82e05b22cc7d4ef5`,
    accountId: '5b10ac8d82e05b22cc7d4ef5',
    emailAddress: ctx.email,
    displayName: 'Anton Bot',
    active: true,
    timeZone: 'UTC',
    accountType: 'atlassian',
  };
}

/** A comment as the API version of the request renders it (v2: text, v3: ADF), whatever it was written with. */
function commentObject(ctx: JiraRouteContext, c: JiraCommentRecord): Record<string, unknown> {
  const body =
    ctx.version === 2
      ? typeof c.raw === 'string'
        ? c.raw
        : adfToText(c.raw)
      : typeof c.raw === 'string'
        ? textToAdf(c.raw)
        : c.raw;
  return {
    self: `${ctx.baseUrl}/rest/api/${ctx.version}/issue/${ctx.issue.id}/comment/${c.id}`,
    id: c.id,
    author: author(ctx),
    body,
    updateAuthor: author(ctx),
    created: c.created,
    updated: c.created,
    jsdPublic: true,
  };
}

/** The body of a new comment: a non-empty string in v2, a valid ADF document in v3. */
function commentBody(ctx: JiraRouteContext, body: unknown): string | AdfDoc {
  if (body === undefined || body === null || body === '') {
    throw jiraError(400, [], { comment: 'Comment body can not be empty!' });
  }
  if (ctx.version === 2) {
    if (typeof body !== 'string') throw jiraError(400, [], { comment: 'Comment body is not valid!' });
    if (body.trim() === '') throw jiraError(400, [], { comment: 'Comment body can not be empty!' });
    return body;
  }
  if (adfProblem(body) !== null) throw jiraError(400, [], { comment: 'Comment body is not valid!' });
  return body as AdfDoc;
}

function addComment(ctx: JiraRouteContext, raw: string | AdfDoc): JiraCommentRecord {
  const comment: JiraCommentRecord = { id: ctx.nextId(), raw, apiVersion: ctx.version, created: jiraTimestamp() };
  ctx.issue.comments.push(comment);
  return comment;
}

/** Labels from `fields.labels` (set) and `update.labels` ([{add}|{remove}|{set}]); Jira forbids spaces. */
function applyLabels(ctx: JiraRouteContext, body: Record<string, unknown>): void {
  const fields = (body.fields ?? {}) as Record<string, unknown>;
  const update = (body.update ?? {}) as Record<string, unknown>;
  for (const name of [...Object.keys(fields), ...Object.keys(update)]) {
    if (name !== 'labels' && name !== 'summary') {
      throw jiraError(400, [], {
        [name]: `Field '${name}' cannot be set. It is not on the appropriate screen, or unknown.`,
      });
    }
  }
  let labels = [...ctx.issue.labels];
  const check = (label: unknown): string => {
    if (typeof label !== 'string') throw jiraError(400, [], { labels: 'Labels must be strings.' });
    if (/\s/.test(label))
      throw jiraError(400, [], { labels: `The label '${label}' contains spaces which is invalid.` });
    return label;
  };
  if (fields.labels !== undefined) {
    if (!Array.isArray(fields.labels)) throw jiraError(400, [], { labels: 'data was not an array' });
    labels = fields.labels.map(check);
  }
  const ops = update.labels ?? [];
  if (!Array.isArray(ops)) throw jiraError(400, [], { labels: 'data was not an array' });
  for (const op of ops as Array<Record<string, unknown>>) {
    if ('add' in op) {
      const label = check(op.add);
      if (!labels.includes(label)) labels.push(label);
    } else if ('remove' in op) labels = labels.filter((l) => l !== op.remove);
    else if ('set' in op && Array.isArray(op.set)) labels = op.set.map(check);
    else throw jiraError(400, [], { labels: 'Operation is not supported.' });
  }
  if (typeof fields.summary === 'string') ctx.issue.summary = fields.summary;
  ctx.issue.labels = labels;
}

function transitionObject(
  ctx: JiraRouteContext,
  t: { id: string; name: string; to?: string },
): Record<string, unknown> {
  const to = t.to ?? t.name;
  return {
    id: t.id,
    name: t.name,
    to: { self: `${ctx.baseUrl}/rest/api/${ctx.version}/status/${encodeURIComponent(to)}`, name: to, id: t.id },
    hasScreen: false,
    isGlobal: true,
    isInitial: false,
    isAvailable: true,
    isConditional: false,
    isLooped: false,
  };
}

/** `/rest/api/{2|3}/issue/{issueIdOrKey}…`: the issue, its comments, labels and transitions. */
export function registerIssueRoutes(on: RegisterIssueRoute): void {
  on('GET', '', (ctx) => ({
    status: 200,
    body: {
      id: ctx.issue.id,
      key: ctx.issue.key,
      self: `${ctx.baseUrl}/rest/api/${ctx.version}/issue/${ctx.issue.id}`,
      fields: { summary: ctx.issue.summary, status: { name: ctx.issue.status }, labels: ctx.issue.labels },
    },
  }));

  on('PUT', '', (ctx) => {
    applyLabels(ctx, jsonObjectBody(ctx.req));
    return { status: 204 };
  });

  on('GET', '/comment', (ctx) => ({
    status: 200,
    body: {
      startAt: 0,
      maxResults: 5000,
      total: ctx.issue.comments.length,
      comments: ctx.issue.comments.map((c) => commentObject(ctx, c)),
    },
  }));

  on('POST', '/comment', (ctx) => {
    const comment = addComment(ctx, commentBody(ctx, jsonObjectBody(ctx.req).body));
    return { status: 201, body: commentObject(ctx, comment) };
  });

  on('GET', '/transitions', (ctx) => ({
    status: 200,
    body: { expand: 'transitions', transitions: ctx.issue.transitions.map((t) => transitionObject(ctx, t)) },
  }));

  on('POST', '/transitions', (ctx) => {
    const body = jsonObjectBody(ctx.req);
    const requested = (body.transition ?? {}) as { id?: unknown };
    if (requested.id === undefined) throw jiraError(400, ["Missing 'transition' identifier"]);
    if (!/^\d+$/.test(String(requested.id))) throw jiraError(400, ["'transition' identifier must be an integer"]);
    const transition = ctx.issue.transitions.find((t) => t.id === String(requested.id));
    if (!transition) throw jiraError(400, [`Transition id '${requested.id}' is not valid for this issue.`]);
    const update = (body.update ?? {}) as { comment?: Array<{ add?: { body?: unknown } }> };
    const comments = (update.comment ?? []).map((op) => commentBody(ctx, op.add?.body));
    for (const raw of comments) addComment(ctx, raw);
    ctx.issue.status = transition.to ?? transition.name;
    return { status: 204 };
  });
}
