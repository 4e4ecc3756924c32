import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { FakeHttpServer, type RecordedRequest, sendJson } from '../fake-http-server.ts';
import { checkToken, DOCS_URL, GitHubApiError, notFound, RateLimitHeaders, requestId } from './github-http.ts';
import { openIssue, type RenderContext, type RepoRecord, repoObject, userObject } from './github-objects.ts';
import { registerIssueRoutes } from './issue-routes.ts';
import { registerPullRoutes } from './pull-routes.ts';

export interface FakeGitHubOptions {
  /** The token clients must send (default: a random `ghp_…`). */
  token?: string;
  /** Login of the token's user (default `anton-bot`). */
  login?: string;
  /** Web host in `html_url`s (default `https://github.com`). */
  htmlUrl?: string;
}

export interface AddRepositoryOptions {
  defaultBranch?: string;
  /** A real bare repository backing this one: pull requests then check its branches and commits. */
  bareDir?: string;
  /** `clone_url` to report (default `<htmlUrl>/<owner>/<repo>.git`). */
  cloneUrl?: string;
}

/** A pull request as the control API shows it. */
export interface FakePull {
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  head: string;
  base: string;
  headSha: string;
  draft: boolean;
  labels: string[];
  htmlUrl: string;
}

export interface FakeIssueComment {
  id: number;
  body: string;
  createdAt: string;
}

/** What a route gets: the request, the repository it names, and the fake's shared parts. */
export interface GitHubRouteContext {
  req: RecordedRequest;
  repo: RepoRecord;
  render: RenderContext;
  nextId(): number;
}

export interface GitHubReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type GitHubRepoRoute = (ctx: GitHubRouteContext) => GitHubReply | Promise<GitHubReply>;

/**
 * GitHub's REST API for the calls anton makes: repositories, pull requests (create, list by head,
 * get, update), issue comments and labels. Token auth on every call; 401, 404 and 422 answers in
 * GitHub's shapes; optionally backed by a real bare repository so unknown branches are rejected.
 */
export class FakeGitHub extends FakeHttpServer {
  #token = '';
  #login = 'anton-bot';
  #htmlUrl = 'https://github.com';
  #repos = new Map<string, RepoRecord>();
  #ids = 1000;
  #rate = new RateLimitHeaders();

  static async start(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
    const fake = new FakeGitHub();
    fake.#token = options.token ?? `ghp_${randomBytes(18).toString('hex')}`;
    fake.#login = options.login ?? fake.#login;
    fake.#htmlUrl = options.htmlUrl ?? fake.#htmlUrl;
    fake.notFound = (req, res) =>
      fake.#answer(req, res, () => {
        throw notFound();
      });
    fake.route('GET', '/user', (req, res) =>
      fake.#answer(req, res, () => ({ status: 200, body: userObject(fake.#render()) })),
    );
    fake.repoRoute('GET', '', ({ repo, render }) => ({ status: 200, body: repoObject(render, repo) }));
    registerPullRoutes((method, path, handler) => fake.repoRoute(method, path, handler));
    registerIssueRoutes((method, path, handler) => fake.repoRoute(method, path, handler));
    return fake.listen();
  }

  get token(): string {
    return this.#token;
  }

  /** Adds a route under `/repos/:owner/:repo` that is authenticated and 404s for unknown repositories. */
  repoRoute(method: string, path: string, handler: GitHubRepoRoute): this {
    return this.route(method, `/repos/:owner/:repo${path}`, (req, res) =>
      this.#answer(req, res, () => {
        const repo = this.#repos.get(key(req.params.owner ?? '', req.params.repo ?? ''));
        if (!repo) throw notFound(`${DOCS_URL}/repos/repos#get-a-repository`);
        return handler({ req, repo, render: this.#render(), nextId: () => this.#ids++ });
      }),
    );
  }

  addRepository(owner: string, repo: string, options: AddRepositoryOptions = {}): this {
    this.#repos.set(key(owner, repo), {
      owner,
      repo,
      id: this.#ids++,
      defaultBranch: options.defaultBranch ?? 'main',
      bareDir: options.bareDir,
      cloneUrl: options.cloneUrl,
      nextNumber: 1,
      issues: new Map(),
    });
    return this;
  }

  /** Opens a plain issue (not a pull request) and returns its number. */
  addIssue(owner: string, repo: string, { title = 'An issue', body = null as string | null } = {}): number {
    return openIssue(this.#repo(owner, repo), { id: this.#ids++, title, body }).number;
  }

  pulls(owner: string, repo: string): FakePull[] {
    const r = this.#repo(owner, repo);
    return [...r.issues.values()].flatMap((i) =>
      i.pull
        ? [
            {
              number: i.number,
              title: i.title,
              body: i.body,
              state: i.state,
              head: i.pull.head,
              base: i.pull.base,
              headSha: i.pull.headSha,
              draft: i.pull.draft,
              labels: [...i.labels],
              htmlUrl: `${this.#htmlUrl}/${r.owner}/${r.repo}/pull/${i.number}`,
            },
          ]
        : [],
    );
  }

  comments(owner: string, repo: string, number: number): FakeIssueComment[] {
    const issue = this.#repo(owner, repo).issues.get(number);
    return (issue?.comments ?? []).map((c) => ({ id: c.id, body: c.body, createdAt: c.createdAt }));
  }

  labels(owner: string, repo: string, number: number): string[] {
    return [...(this.#repo(owner, repo).issues.get(number)?.labels ?? [])];
  }

  /** The next `times` requests (to `path`, if given) fail with a GitHub 5xx. */
  serverError(status = 502, times = 1, path?: string | RegExp): this {
    return this.inject(
      { kind: 'status', status, headers: { 'x-github-request-id': requestId() }, body: { message: 'Server Error' } },
      { times, path },
    );
  }

  /** The next `times` requests hit GitHub's secondary rate limit (403 by default, or 429) with `retry-after`. */
  rateLimited(
    retryAfter = 60,
    times = 1,
    { status = 403, path }: { status?: 403 | 429; path?: string | RegExp } = {},
  ): this {
    const id = requestId();
    return this.inject(
      {
        kind: 'status',
        status,
        headers: { 'retry-after': String(retryAfter), 'x-github-request-id': id, 'x-ratelimit-resource': 'core' },
        body: {
          message: `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${id}.`,
          documentation_url: `${DOCS_URL}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
          status: String(status),
        },
      },
      { times, path },
    );
  }

  #repo(owner: string, repo: string): RepoRecord {
    const r = this.#repos.get(key(owner, repo));
    if (!r) throw new Error(`FakeGitHub: unknown repository ${owner}/${repo}; call addRepository first`);
    return r;
  }

  #render(): RenderContext {
    return { apiUrl: this.url, htmlUrl: this.#htmlUrl, login: this.#login };
  }

  async #answer(
    req: RecordedRequest,
    res: ServerResponse,
    handle: () => GitHubReply | Promise<GitHubReply>,
  ): Promise<void> {
    let reply: GitHubReply;
    try {
      checkToken(req.headers, this.#token);
      reply = await handle();
    } catch (err) {
      if (!(err instanceof GitHubApiError)) throw err;
      reply = { status: err.status, body: err.body };
    }
    sendJson(res, reply.status, reply.body, { ...this.#rate.next(), ...reply.headers });
  }
}

/** GitHub matches owner and repository names case-insensitively. */
function key(owner: string, repo: string): string {
  return `${owner}/${repo}`.toLowerCase();
}
