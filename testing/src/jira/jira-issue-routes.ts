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
    ...(c.author && { author: { ...author(ctx), ...c.author, emailAddress: undefined } }),
    updateAuthor: c.author ?? author(ctx),
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

/** Jira Cloud answers at most this many comments per page. */
const MAX_COMMENTS = 100;

/** The issue's fields, only those named in `fields` when the request names any (as Jira does). */
function issueFields(ctx: JiraRouteContext): Record<string, unknown> {
  const { issue, baseUrl, version } = ctx;
  const all: Record<string, unknown> = {
    summary: issue.summary,
    status: { name: issue.status },
    labels: issue.labels,
    components: issue.components.map((name, i) => ({
      self: `${baseUrl}/rest/api/${version}/component/${i + 1}`,
      id: String(i + 1),
      name,
    })),
    attachment: issue.attachments.map((a) => ({
      self: `${baseUrl}/rest/api/${version}/attachment/${a.id}`,
      id: a.id,
      filename: a.filename,
      size: Buffer.byteLength(a.content),
      mimeType: a.mimeType,
      created: jiraTimestamp(),
      content: `${baseUrl}/secure/attachment/${a.id}/${encodeURIComponent(a.filename)}`,
    })),
    issuelinks: issue.links.map((link, i) => ({
      id: String(20000 + i),
      type: { id: String(10000 + i), ...link.type },
      [link.direction === 'outward' ? 'outwardIssue' : 'inwardIssue']: {
        key: link.key,
        fields: { summary: link.summary, status: { name: link.status ?? 'To Do' } },
      },
    })),
  };
  const wanted = ctx.req.query.get('fields');
  if (!wanted || wanted === '*all' || wanted === '*navigable') return all;
  const names = wanted.split(',').map((n) => n.trim());
  return Object.fromEntries(Object.entries(all).filter(([name]) => names.includes(name)));
}

/** `/rest/api/{2|3}/issue/{issueIdOrKey}…`: the issue, its comments, labels and transitions. */
export function registerIssueRoutes(on: RegisterIssueRoute): void {
  on('GET', '', (ctx) => ({
    status: 200,
    body: {
      id: ctx.issue.id,
      key: ctx.issue.key,
      self: `${ctx.baseUrl}/rest/api/${ctx.version}/issue/${ctx.issue.id}`,
      fields: issueFields(ctx),
    },
  }));

  on('PUT', '', (ctx) => {
    applyLabels(ctx, jsonObjectBody(ctx.req));
    return { status: 204 };
  });

  on('GET', '/comment', (ctx) => {
    const startAt = Number(ctx.req.query.get('startAt') ?? '0');
    const maxResults = Math.min(Number(ctx.req.query.get('maxResults') ?? String(MAX_COMMENTS)), MAX_COMMENTS);
    if (!Number.isInteger(startAt) || startAt < 0 || !Number.isInteger(maxResults) || maxResults < 0) {
      throw jiraError(400, ['startAt and maxResults must be non-negative integers.']);
    }
    const orderBy = ctx.req.query.get('orderBy') ?? 'created';
    if (!['created', '+created', '-created'].includes(orderBy)) throw jiraError(400, [`Invalid orderBy: ${orderBy}`]);
    const ordered = [...ctx.issue.comments].sort((a, b) => a.created.localeCompare(b.created));
    if (orderBy === '-created') ordered.reverse();
    return {
      status: 200,
      body: {
        startAt,
        maxResults,
        total: ordered.length,
        comments: ordered.slice(startAt, startAt + maxResults).map((c) => commentObject(ctx, c)),
      },
    };
  });

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
