import { isCredentialSafe } from '@anton/contracts';

/**
 * How the runner's own git commands reach the remote, without the credential ever landing where
 * the agent can read it:
 * - proxy mode: git talks to the credential proxy (`<proxy>/git/<host>/<path>`), which adds the
 *   token; the runner holds no credential at all.
 * - direct mode: the token goes only into the environment of the clone, ls-remote and push
 *   commands, as an `http.<origin>/.extraHeader` (scoped to the repository's origin, so a redirect
 *   elsewhere does not get it) passed through GIT_CONFIG_COUNT/KEY/VALUE: never into the URL, `.git/config`, or
 *   the agent's environment; and only to the configured GitHub git host over https (plain http
 *   only to loopback), whatever repository URL the task names.
 * Either way `.git/config` records the plain repository URL.
 */
export interface GitAccess {
  /** What git fetches from and pushes to. */
  transportUrl: string;
  /** What `.git/config` records as origin. */
  publicUrl: string;
  /** Extra environment for the commands that talk to the remote; empty in proxy mode. */
  remoteEnv: Record<string, string>;
}

export type GitAccessMode =
  | { kind: 'proxy'; proxyUrl: string }
  | { kind: 'direct'; token?: undefined }
  /** gitOrigin: the GitHub git host (contracts' githubGitOrigin), the only place the token goes. */
  | { kind: 'direct'; token: string | undefined; gitOrigin: string };

export class UnsupportedRepositoryUrl extends Error {
  override name = 'UnsupportedRepositoryUrl';
}

export function gitAccessFor(repoUrl: string, mode: GitAccessMode): GitAccess {
  const http = /^https?:\/\//i.test(repoUrl);
  // Credentials written into the URL by hand must not reach .git/config either.
  const publicUrl = http ? withoutUserinfo(repoUrl) : repoUrl;
  if (mode.kind === 'proxy') {
    // A local file:// repository involves no credential; anything else must be HTTP(S) to pass the proxy.
    if (/^file:\/\//i.test(repoUrl)) return { transportUrl: repoUrl, publicUrl: repoUrl, remoteEnv: {} };
    if (!http)
      throw new UnsupportedRepositoryUrl(
        `only http(s) repositories can be reached through the credential proxy: ${repoUrl}`,
      );
    return { transportUrl: proxiedGitUrl(mode.proxyUrl, publicUrl), publicUrl, remoteEnv: {} };
  }
  if (!http || mode.token === undefined) return { transportUrl: repoUrl, publicUrl, remoteEnv: {} };
  const url = new URL(repoUrl);
  if (url.origin !== new URL(mode.gitOrigin).origin || !isCredentialSafe(url)) {
    throw new UnsupportedRepositoryUrl(
      `direct mode sends the GitHub token only to ${mode.gitOrigin} over https: ${publicUrl} is not there`,
    );
  }
  const { origin } = url;
  const basic = Buffer.from(`x-access-token:${mode.token}`).toString('base64');
  return {
    transportUrl: repoUrl,
    publicUrl,
    remoteEnv: {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: `http.${origin}/.extraHeader`,
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    },
  };
}

/** `https://github.com/acme/shop.git` → `<proxy>/git/github.com/acme/shop.git`. */
export function proxiedGitUrl(proxyUrl: string, repoUrl: string): string {
  const url = new URL(repoUrl);
  return `${proxyUrl.replace(/\/+$/, '')}/git/${url.host}${url.pathname}`;
}

function withoutUserinfo(repoUrl: string): string {
  const url = new URL(repoUrl);
  url.username = '';
  url.password = '';
  return url.toString();
}
