import type { ProxyConfig } from './config.ts';

export type RouteKind = 'anthropic' | 'openai' | 'github' | 'git';

export interface AllowedRoute {
  kind: RouteKind;
  upstream: URL;
  /** The credential header the proxy adds (the caller's own is always dropped). */
  credential: [name: string, value: string];
  /** A git push: its ref updates are checked before anything is forwarded. */
  receivePack: boolean;
}

export type RouteDecision = { allowed: AllowedRoute } | { denied: string };

/** The GitHub resources of the allowed repository the runner uses: pull requests, and issue comments and labels. */
const GITHUB_RESOURCES = /^(pulls|issues)(\/|$)/;
const GITHUB_METHODS = new Set(['GET', 'POST', 'PATCH']);

/**
 * Decides what a request to the proxy may reach. The allowlist is exact: Anthropic's Messages
 * API, OpenAI's Chat Completions, the allowed repository's pull requests and issues on GitHub, and
 * that repository's smart-HTTP git endpoints. Paths that could be read differently upstream
 * (encoded characters, dot segments, empty segments) are refused outright.
 */
export function decideRoute(method: string, rawUrl: string, config: ProxyConfig): RouteDecision {
  const url = new URL(rawUrl, 'http://proxy.invalid');
  const path = url.pathname;
  if (/%|\/\.{1,2}(\/|$)|\/\/|\\/.test(rawUrl.split('?')[0] ?? '')) return { denied: 'path not in canonical form' };
  const query = url.search;

  if (path.startsWith('/anthropic/')) {
    const rest = path.slice('/anthropic'.length);
    if (method !== 'POST' || (rest !== '/v1/messages' && rest !== '/v1/messages/count_tokens')) {
      return { denied: 'only POST /v1/messages and /v1/messages/count_tokens are allowed on Anthropic' };
    }
    return allow('anthropic', `${config.anthropic.upstream}${rest}${query}`, ['x-api-key', config.anthropic.key]);
  }

  if (path.startsWith('/openai/')) {
    const rest = path.slice('/openai'.length);
    if (method !== 'POST' || rest !== '/v1/chat/completions') {
      return { denied: 'only POST /v1/chat/completions is allowed on OpenAI' };
    }
    // OPENAI_BASE_URL carries the API version (…/v1), as the SDK's baseURL does.
    return allow('openai', `${config.openai.upstream}/chat/completions${query}`, [
      'authorization',
      `Bearer ${config.openai.key}`,
    ]);
  }

  if (path.startsWith('/github/')) {
    const rest = path.slice('/github'.length);
    const { owner, repo } = config.repository;
    const prefix = `/repos/${owner}/${repo}/`.toLowerCase();
    const sub = rest.toLowerCase().startsWith(prefix) ? rest.slice(prefix.length) : undefined;
    if (sub === undefined || !GITHUB_RESOURCES.test(sub) || !GITHUB_METHODS.has(method)) {
      return { denied: `only GET/POST/PATCH of /repos/${owner}/${repo}/pulls and /issues are allowed on GitHub` };
    }
    return allow('github', `${config.github.upstream}${rest}${query}`, [
      'authorization',
      `token ${config.github.token}`,
    ]);
  }

  if (path.startsWith('/git/')) return gitRoute(method, path.slice('/git'.length), url.searchParams, query, config);

  return { denied: 'unknown route' };
}

function gitRoute(
  method: string,
  rest: string,
  params: URLSearchParams,
  query: string,
  config: ProxyConfig,
): RouteDecision {
  const { host, path, origin } = config.repository;
  const bare = path.replace(/\.git$/, '');
  const lower = rest.toLowerCase();
  const base = [`/${host}${bare}.git`, `/${host}${bare}`].find((candidate) =>
    lower.startsWith(`${candidate.toLowerCase()}/`),
  );
  if (base === undefined) return { denied: 'git may only reach the allowed repository' };
  const endpoint = rest.slice(base.length);
  const service = params.get('service');
  const discovery =
    method === 'GET' && endpoint === '/info/refs' && (service === 'git-upload-pack' || service === 'git-receive-pack');
  const rpc = method === 'POST' && (endpoint === '/git-upload-pack' || endpoint === '/git-receive-pack');
  if (!discovery && !rpc) return { denied: 'only the smart-HTTP git endpoints are allowed' };
  const basic = Buffer.from(`x-access-token:${config.github.token}`).toString('base64');
  const decision = allow('git', `${origin}${path}${endpoint}${query}`, ['authorization', `Basic ${basic}`]);
  if ('allowed' in decision) decision.allowed.receivePack = endpoint === '/git-receive-pack';
  return decision;
}

function allow(kind: RouteKind, upstream: string, credential: [string, string]): RouteDecision {
  return { allowed: { kind, upstream: new URL(upstream), credential, receivePack: false } };
}
