import { anthropicMessagesBody, type BodyRule, createPullBody, openaiChatBody, updatePullBody } from './body-rules.ts';
import type { ProxyConfig } from './config.ts';
import type { Claim } from './run-claim.ts';

export type RouteKind = 'anthropic' | 'openai' | 'github' | 'git';

export interface AllowedRoute {
  kind: RouteKind;
  upstream: URL;
  /** The credential header the proxy adds (the caller's own is always dropped). */
  credential: [name: string, value: string];
  /** A git push: its ref updates are checked before anything is forwarded. */
  receivePack: boolean;
  /** A JSON body, read whole and checked before anything is forwarded. */
  body?: BodyRule;
  /** An update of this pull request: it must come from the run's branch (asked of GitHub first). */
  pullOwnedBy?: string;
}

export type RouteDecision = { allowed: AllowedRoute } | { denied: string };

/**
 * Decides what a request to the proxy may reach: only what the runner uses. Anthropic's Messages
 * API, OpenAI's Chat Completions (both with checked bodies), the allowed repository's pull
 * requests on GitHub (list; create from the run's branch; update of title and body), and that
 * repository's smart-HTTP git endpoints (pushes checked in git-push-refs.ts). Paths that could be
 * read differently upstream (encoded characters, dot segments, empty segments) are refused outright.
 */
export function decideRoute(method: string, rawUrl: string, config: ProxyConfig, claim: Claim): RouteDecision {
  const url = new URL(rawUrl, 'http://proxy.invalid');
  const path = url.pathname;
  if (/%|\/\.{1,2}(\/|$)|\/\/|\\/.test(rawUrl.split('?')[0] ?? '')) return { denied: 'path not in canonical form' };
  const query = url.search;

  if (path.startsWith('/anthropic/')) {
    const rest = path.slice('/anthropic'.length);
    if (method !== 'POST' || rest !== '/v1/messages' || query !== '') {
      return { denied: 'only POST /v1/messages is allowed on Anthropic' };
    }
    return allow('anthropic', `${config.anthropic.upstream}${rest}`, ['x-api-key', config.anthropic.key], {
      body: anthropicMessagesBody,
    });
  }

  if (path.startsWith('/openai/')) {
    const rest = path.slice('/openai'.length);
    if (method !== 'POST' || rest !== '/v1/chat/completions' || query !== '') {
      return { denied: 'only POST /v1/chat/completions is allowed on OpenAI' };
    }
    // OPENAI_BASE_URL carries the API version (…/v1), as the SDK's baseURL does.
    return allow(
      'openai',
      `${config.openai.upstream}/chat/completions`,
      ['authorization', `Bearer ${config.openai.key}`],
      {
        body: openaiChatBody,
      },
    );
  }

  if (path.startsWith('/github/')) {
    const rest = path.slice('/github'.length);
    const { owner, repo } = config.repository;
    const prefix = `/repos/${owner}/${repo}/`.toLowerCase();
    const sub = rest.toLowerCase().startsWith(prefix) ? rest.slice(prefix.length) : undefined;
    const body =
      sub === 'pulls' && method === 'POST'
        ? createPullBody(owner, claim.branch)
        : /^pulls\/\d+$/.test(sub ?? '') && method === 'PATCH'
          ? updatePullBody
          : undefined;
    const list = sub === 'pulls' && method === 'GET';
    if (!list && !body) {
      return {
        denied: `only listing, creating and updating /repos/${owner}/${repo}/pulls is allowed on GitHub`,
      };
    }
    return allow(
      'github',
      `${config.github.upstream}${rest}${query}`,
      ['authorization', `token ${config.github.token}`],
      body ? { body, ...(method === 'PATCH' ? { pullOwnedBy: `${owner}/${repo}:${claim.branch}` } : {}) } : {},
    );
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

function allow(
  kind: RouteKind,
  upstream: string,
  credential: [string, string],
  extra: { body?: BodyRule; pullOwnedBy?: string } = {},
): RouteDecision {
  return { allowed: { kind, upstream: new URL(upstream), credential, receivePack: false, ...extra } };
}
