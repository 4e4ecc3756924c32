import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { FakeHttpServer, type RecordedRequest, sendJson } from '../fake-http-server.ts';
import { type AdfDoc, adfToText } from './adf.ts';
import { checkBasicAuth, JiraApiError, jiraError, requestId } from './jira-http.ts';
import { registerIssueRoutes } from './jira-issue-routes.ts';

export interface FakeJiraOptions {
  email?: string;
  apiToken?: string;
  /** A Data Center personal access token accepted as `Authorization: Bearer` (default: none). */
  bearerToken?: string;
}

/** Someone who comments: by default the fake's own account (anton's), else another user. */
export interface JiraAuthor {
  accountId: string;
  displayName: string;
}

export interface JiraAttachmentRecord {
  id: string;
  filename: string;
  mimeType: string;
  content: string;
}

export interface JiraLinkRecord {
  /** `outward`: this issue → the other (e.g. "blocks"); `inward`: the other → this one ("is blocked by"). */
  direction: 'inward' | 'outward';
  type: { name: string; inward: string; outward: string };
  key: string;
  summary: string;
  status?: string;
}

export interface JiraTransition {
  id: string;
  name: string;
  /** Status the transition leads to (default: its name). */
  to?: string;
}

export interface AddJiraIssueOptions {
  /** Numeric id (default: the next free one from 10001). */
  id?: string;
  summary?: string;
  status?: string;
  labels?: string[];
  transitions?: JiraTransition[];
  components?: string[];
  attachments?: Array<Omit<JiraAttachmentRecord, 'id'>>;
  links?: JiraLinkRecord[];
}

export interface JiraIssueRecord {
  id: string;
  key: string;
  summary: string;
  status: string;
  labels: string[];
  transitions: JiraTransition[];
  comments: JiraCommentRecord[];
  components: string[];
  attachments: JiraAttachmentRecord[];
  links: JiraLinkRecord[];
}

export interface JiraCommentRecord {
  id: string;
  /** The body as sent: a string through API v2, an ADF document through v3. */
  raw: string | AdfDoc;
  apiVersion: 2 | 3;
  created: string;
  /** Unset: written with the fake's own account. */
  author?: JiraAuthor;
}

/** A comment as the control API shows it: its text (ADF flattened) and the body as sent. */
export interface JiraComment extends JiraCommentRecord {
  text: string;
}

export const DEFAULT_TRANSITIONS: JiraTransition[] = [
  { id: '11', name: 'To Do' },
  { id: '21', name: 'In Progress' },
  { id: '31', name: 'Done' },
];

/** What an issue route gets: the request, the API version in its path, the issue, the fake's identity. */
export interface JiraRouteContext {
  req: RecordedRequest;
  version: 2 | 3;
  issue: JiraIssueRecord;
  baseUrl: string;
  email: string;
  nextId(): string;
}

export interface JiraReply {
  status: number;
  body?: unknown;
}

export type JiraIssueRoute = (ctx: JiraRouteContext) => JiraReply | Promise<JiraReply>;

/**
 * Jira Cloud's REST API (v2 and v3) for the calls anton makes: comments (plain text in v2, ADF in
 * v3), labels, transitions. Basic auth with email and API token on every call; errors in Jira's
 * `{errorMessages, errors}` shape.
 */
export class FakeJira extends FakeHttpServer {
  #email = 'anton@example.com';
  #apiToken = '';
  #bearerToken: string | undefined;
  #issues = new Map<string, JiraIssueRecord>();
  #ids = 10000;

  static async start(options: FakeJiraOptions = {}): Promise<FakeJira> {
    const fake = new FakeJira();
    fake.#email = options.email ?? fake.#email;
    fake.#apiToken = options.apiToken ?? randomBytes(12).toString('base64url');
    fake.#bearerToken = options.bearerToken;
    const attachment = (id: string | undefined, filename?: string) => {
      const found = [...fake.#issues.values()]
        .flatMap((issue) => issue.attachments)
        .find((a) => a.id === id && (filename === undefined || a.filename === filename));
      if (!found) throw jiraError(404, ['The attachment does not exist.']);
      return found;
    };
    // Cloud's REST resource answers a redirect to the content unless asked not to (redirect=false).
    fake.route('GET', '/rest/api/:version/attachment/content/:id', (req, res) =>
      fake.#answerRaw(req, res, () => {
        const found = attachment(req.params.id);
        if (req.query.get('redirect') === 'false') return found;
        return { redirect: `${fake.url}/secure/attachment/${found.id}/${encodeURIComponent(found.filename)}` };
      }),
    );
    fake.route('GET', '/secure/attachment/:id/:filename', (req, res) =>
      fake.#answerRaw(req, res, () => attachment(req.params.id, req.params.filename)),
    );
    fake.notFound = (req, res) =>
      fake.#answer(req, res, () => {
        throw jiraError(404, [`null for uri: ${fake.url}${req.path}`]);
      });
    fake.route('GET', '/rest/api/:version/myself', (req, res) =>
      fake.#answer(req, res, () => ({ status: 200, body: fake.user() })),
    );
    registerIssueRoutes((method, path, handler) => fake.issueRoute(method, path, handler));
    return fake.listen();
  }

  get email(): string {
    return this.#email;
  }

  get apiToken(): string {
    return this.#apiToken;
  }

  /** The `Authorization` header value a client must send. */
  get authorization(): string {
    return `Basic ${Buffer.from(`${this.#email}:${this.#apiToken}`).toString('base64')}`;
  }

  /** Adds a route under `/rest/api/{2|3}/issue/:key` that is authenticated and 404s for unknown issues. */
  issueRoute(method: string, path: string, handler: JiraIssueRoute): this {
    return this.route(method, `/rest/api/:version/issue/:key${path}`, (req, res) =>
      this.#answer(req, res, () => {
        const version: 2 | 3 | null = req.params.version === '2' ? 2 : req.params.version === '3' ? 3 : null;
        const issue = this.#find(req.params.key ?? '');
        if (version === null || !issue) {
          throw jiraError(404, ['Issue does not exist or you do not have permission to see it.']);
        }
        const ctx = { req, version, issue, baseUrl: this.url, email: this.#email, nextId: () => String(this.#ids++) };
        return handler(ctx);
      }),
    );
  }

  addIssue(key: string, options: AddJiraIssueOptions = {}): this {
    this.#issues.set(key.toUpperCase(), {
      id: options.id ?? String(++this.#ids),
      key: key.toUpperCase(),
      summary: options.summary ?? `Issue ${key}`,
      status: options.status ?? 'To Do',
      labels: [...(options.labels ?? [])],
      transitions: options.transitions ?? DEFAULT_TRANSITIONS,
      comments: [],
      components: [...(options.components ?? [])],
      attachments: (options.attachments ?? []).map((a) => ({ ...a, id: String(++this.#ids) })),
      links: [...(options.links ?? [])],
    });
    return this;
  }

  /** A comment written by someone (by default another user than anton), `minutesAgo` before now. */
  addComment(
    key: string,
    body: string,
    author: JiraAuthor = { accountId: '557058:f00d', displayName: 'Dana Developer' },
    minutesAgo = 0,
  ): this {
    const created = new Date(Date.now() - minutesAgo * 60_000).toISOString().replace('Z', '+0000');
    this.#issue(key).comments.push({ id: String(++this.#ids), raw: body, apiVersion: 2, created, author });
    return this;
  }

  comments(key: string): JiraComment[] {
    return this.#issue(key).comments.map((c) => ({
      ...c,
      text: typeof c.raw === 'string' ? c.raw : adfToText(c.raw),
    }));
  }

  issue(key: string): { key: string; id: string; status: string; labels: string[]; summary: string } {
    const { id, status, labels, summary } = this.#issue(key);
    return { key: key.toUpperCase(), id, status, labels: [...labels], summary };
  }

  /** The user the credentials belong to, as Jira renders it. */
  user(): Record<string, unknown> {
    return {
      self: `${this.url}/rest/api/3/user?accountId=5b10ac8d82e05b22cc7d4ef5`,
      accountId: '5b10ac8d82e05b22cc7d4ef5',
      accountType: 'atlassian',
      emailAddress: this.#email,
      displayName: 'Anton Bot',
      active: true,
      timeZone: 'UTC',
    };
  }

  /** The next `times` requests fail with a Jira 5xx. */
  serverError(times = 1, status = 500): this {
    return this.inject(
      { kind: 'status', status, body: { errorMessages: ['Internal server error'], errors: {} } },
      { times },
    );
  }

  /** The next `times` requests are rate limited: 429 with `Retry-After`, as Jira Cloud does. */
  rateLimited(retryAfter = 10, times = 1): this {
    return this.inject(
      {
        kind: 'status',
        status: 429,
        headers: { 'retry-after': String(retryAfter), 'x-ratelimit-limit': '350', 'x-ratelimit-remaining': '0' },
        body: { errorMessages: ['Rate limit exceeded.'], errors: {} },
      },
      { times },
    );
  }

  /** An authenticated non-JSON answer (attachment content) in its own content type. */
  #answerRaw(req: RecordedRequest, res: ServerResponse, find: () => JiraAttachmentRecord | { redirect: string }): void {
    try {
      checkBasicAuth(req.headers, this.#email, this.#apiToken, this.#bearerToken);
      const attachment = find();
      if ('redirect' in attachment) {
        res.writeHead(303, { location: attachment.redirect, 'content-length': '0' }).end();
        return;
      }
      res.writeHead(200, {
        'content-type': attachment.mimeType,
        'content-length': Buffer.byteLength(attachment.content),
      });
      res.end(attachment.content);
    } catch (err) {
      if (!(err instanceof JiraApiError)) throw err;
      const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
      res.writeHead(err.status, { 'content-type': 'application/json;charset=UTF-8', ...err.headers }).end(body);
    }
  }

  #find(keyOrId: string): JiraIssueRecord | undefined {
    return this.#issues.get(keyOrId.toUpperCase()) ?? [...this.#issues.values()].find((issue) => issue.id === keyOrId);
  }

  #issue(key: string): JiraIssueRecord {
    const issue = this.#find(key);
    if (!issue) throw new Error(`FakeJira: unknown issue ${key}; call addIssue first`);
    return issue;
  }

  async #answer(
    req: RecordedRequest,
    res: ServerResponse,
    handle: () => JiraReply | Promise<JiraReply>,
  ): Promise<void> {
    const headers = { 'x-arequestid': requestId() };
    try {
      checkBasicAuth(req.headers, this.#email, this.#apiToken, this.#bearerToken);
      const reply = await handle();
      if (reply.status === 204) {
        res.writeHead(204, headers).end();
        return;
      }
      sendJson(res, reply.status, reply.body, { 'content-type': 'application/json;charset=UTF-8', ...headers });
    } catch (err) {
      if (!(err instanceof JiraApiError)) throw err;
      if (typeof err.body === 'string') {
        res.writeHead(err.status, { 'content-type': 'text/plain;charset=UTF-8', ...headers, ...err.headers });
        res.end(err.body);
        return;
      }
      sendJson(res, err.status, err.body, { 'content-type': 'application/json;charset=UTF-8', ...headers });
    }
  }
}
