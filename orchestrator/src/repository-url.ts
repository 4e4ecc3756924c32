import { isCredentialSafe } from '@anton/contracts';

/**
 * A repository on the configured GitHub git host. The runner clones it over the host's own scheme
 * (https; plain http only on a loopback test host) through its credential proxy, which adds the
 * token: so a repository anywhere else, or in another form, is never handed on.
 */
export interface HostedRepository {
  /** What the runner clones and the credential proxy allows: `<git origin>/<owner>/<repo>[.git]`. */
  url: string;
  owner: string;
  repo: string;
  /** `host/owner/repo`, lower case (GitHub's names are case-insensitive): one repository, one key. */
  key: string;
}

export type RepositoryCheck = { ok: true; repository: HostedRepository } | { ok: false; problem: string };

const NAME = /^[A-Za-z0-9._-]+$/;
const SSH_FORM = /^(?:ssh:\/\/|[\w.-]+@[\w.-]+:)/i;

/**
 * A repository URL the operator wrote (a ROUTING_CONFIG entry): exactly `<git origin>/<owner>/<repo>`,
 * optionally with `.git`. Anything else is a configuration error, said plainly.
 */
export function configuredRepository(value: string, gitOrigin: string): RepositoryCheck {
  if (SSH_FORM.test(value)) {
    return {
      ok: false,
      problem: `ssh URLs are not supported: the runner clones over https through its credential proxy (write ${gitOrigin}/<owner>/<repo>.git)`,
    };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, problem: `not a URL: ${value}` };
  }
  const origin = new URL(gitOrigin);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, problem: `must be an ${origin.protocol.slice(0, -1)} URL on ${origin.host}: ${value}` };
  }
  if (url.host.toLowerCase() !== origin.host.toLowerCase()) {
    return {
      ok: false,
      problem: `${url.host} is not the configured GitHub git host ${origin.host} (GITHUB_API_URL, GITHUB_GIT_URL)`,
    };
  }
  if (url.protocol !== origin.protocol || !isCredentialSafe(url)) {
    return { ok: false, problem: `must be ${origin.protocol.slice(0, -1)}: ${value}` };
  }
  if (url.username || url.password) return { ok: false, problem: 'must not hold credentials' };
  if (url.search || url.hash) return { ok: false, problem: 'must not hold a query or fragment' };
  return onOrigin(url.pathname, origin);
}

/**
 * A repository a payload names (a Datadog tag, a Sonar property): any spelling of one on the git
 * host — https, ssh, `git@host:owner/repo`, or Datadog's scheme-less `host/owner/repo` — since the
 * payload only names the repository; how it is reached is the operator's choice. Whether it may be
 * worked on is the allowlist's question, asked next.
 */
export function namedRepository(value: string, gitOrigin: string): RepositoryCheck {
  const origin = new URL(gitOrigin);
  const refused: RepositoryCheck = { ok: false, problem: `not a repository on ${origin.host}` };
  const scp = /^[\w.-]+@([\w.-]+):\/?([^\s]+)$/.exec(value);
  const schemeless = /^([\w.-]+(?::\d+)?)(\/[^\s]*)$/.exec(value);
  let host: string;
  let path: string;
  if (scp?.[1] && scp[2]) {
    host = scp[1];
    path = `/${scp[2]}`;
  } else if (schemeless?.[1] && schemeless[2] && !value.includes('://')) {
    host = schemeless[1];
    path = schemeless[2];
  } else {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return refused;
    }
    if (!['https:', 'http:', 'ssh:'].includes(url.protocol) || url.search || url.hash) return refused;
    // ssh's port is not the web port: ssh://host:2222/… names no repository on the https host.
    host = url.protocol === 'ssh:' && url.port === '' ? url.hostname : url.host;
    path = url.pathname;
  }
  if (host.toLowerCase() !== origin.host.toLowerCase()) return refused;
  return onOrigin(path, origin);
}

function onOrigin(pathname: string, origin: URL): RepositoryCheck {
  const segments = pathname.replace(/\/+$/, '').split('/').slice(1);
  const [owner, last] = segments;
  const repo = last?.replace(/\.git$/, '');
  if (
    segments.length !== 2 ||
    !owner ||
    !repo ||
    !NAME.test(owner) ||
    !NAME.test(repo) ||
    owner.startsWith('.') ||
    repo.startsWith('.')
  ) {
    return { ok: false, problem: `must name one repository as /<owner>/<repo>: ${pathname}` };
  }
  return {
    ok: true,
    repository: {
      url: `${origin.origin}/${owner}/${last}`,
      owner,
      repo,
      key: `${origin.host}/${owner}/${repo}`.toLowerCase(),
    },
  };
}
