import { PROXY_KEY_HEADER, PUSH_LEASE_HEADER, ZERO_OID } from '../credential-proxy/protocol.ts';

/**
 * How the runner's own git commands reach the remote, without the credential ever landing where
 * the agent can read it:
 * - proxy mode: git talks to the credential proxy (`<proxy>/git/<host>/<path>`), which adds the
 *   token; the runner holds only the run's proxy key, sent as an extra header (proxyGitConfig).
 * - direct mode: the token goes only into the environment of the clone, ls-remote and push
 *   commands, as an `http.<origin>/.extraHeader` (scoped to the repository's origin, so a redirect
 *   elsewhere does not get it) passed through GIT_CONFIG_COUNT/KEY/VALUE: never into the URL,
 *   `.git/config`, or the agent's environment.
 * Either way `.git/config` records the plain repository URL.
 */
export interface GitAccess {
  /** What git fetches from and pushes to. */
  transportUrl: string;
  /** What `.git/config` records as origin. */
  publicUrl: string;
  /** Extra environment for the commands that talk to the remote. */
  remoteEnv: Record<string, string>;
  /**
   * The environment of the push: remoteEnv, and in proxy mode the value the runner expects the
   * branch to have now (`lease`: a sha, or '' for none), without which the proxy refuses to move it.
   */
  pushEnv(lease: string): Record<string, string>;
}

export type GitAccessMode =
  | { kind: 'proxy'; proxyUrl: string; proxyKey: string }
  | { kind: 'direct'; token: string | undefined };

/**
 * The git configuration that sends the run's proxy key (and on a push, the lease) to the proxy
 * only, as `http.<proxy>/.extraHeader` entries through GIT_CONFIG_COUNT/KEY/VALUE. Only for the
 * environment of the runner's own git, which runs as another uid than the agent's: never in a
 * file, an argument (visible to all in /proc/<pid>/cmdline) or the agent's environment.
 */
export function proxyGitConfig(proxyUrl: string, proxyKey: string, lease?: string): Record<string, string> {
  const key = `http.${new URL(proxyUrl).origin}/.extraHeader`;
  const headers = [`${PROXY_KEY_HEADER}: ${proxyKey}`];
  if (lease !== undefined) headers.push(`${PUSH_LEASE_HEADER}: ${lease || ZERO_OID}`);
  return configEnv(headers.map((value) => [key, value]));
}

function configEnv(entries: Array<[string, string]>): Record<string, string> {
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(entries.length) };
  entries.forEach(([key, value], index) => {
    env[`GIT_CONFIG_KEY_${index}`] = key;
    env[`GIT_CONFIG_VALUE_${index}`] = value;
  });
  return env;
}

function withoutCredential(transportUrl: string, publicUrl: string): GitAccess {
  return { transportUrl, publicUrl, remoteEnv: {}, pushEnv: () => ({}) };
}

export class UnsupportedRepositoryUrl extends Error {
  override name = 'UnsupportedRepositoryUrl';
}

export function gitAccessFor(repoUrl: string, mode: GitAccessMode): GitAccess {
  const http = /^https?:\/\//i.test(repoUrl);
  // Credentials written into the URL by hand must not reach .git/config either.
  const publicUrl = http ? withoutUserinfo(repoUrl) : repoUrl;
  if (mode.kind === 'proxy') {
    // A local file:// repository involves no credential; anything else must be HTTP(S) to pass the proxy.
    if (/^file:\/\//i.test(repoUrl)) return withoutCredential(repoUrl, repoUrl);
    if (!http)
      throw new UnsupportedRepositoryUrl(
        `only http(s) repositories can be reached through the credential proxy: ${repoUrl}`,
      );
    const { proxyUrl, proxyKey } = mode;
    return {
      transportUrl: proxiedGitUrl(proxyUrl, publicUrl),
      publicUrl,
      remoteEnv: proxyGitConfig(proxyUrl, proxyKey),
      pushEnv: (lease) => proxyGitConfig(proxyUrl, proxyKey, lease),
    };
  }
  if (!http || mode.token === undefined) return withoutCredential(repoUrl, publicUrl);
  const { origin } = new URL(repoUrl);
  const basic = Buffer.from(`x-access-token:${mode.token}`).toString('base64');
  const remoteEnv = configEnv([[`http.${origin}/.extraHeader`, `Authorization: Basic ${basic}`]]);
  return { transportUrl: repoUrl, publicUrl, remoteEnv, pushEnv: () => remoteEnv };
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
