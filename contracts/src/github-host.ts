/**
 * The one place anton decides where a GitHub credential may go: the git (and web) host of the
 * GitHub the operator configured, over https — plain http only to a loopback address, which is
 * what tests run their fakes on. The orchestrator, the runner's direct mode and the credential
 * proxy all ask here, so a repository URL from a webhook can never widen it.
 */

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

/** `localhost`, 127.0.0.0/8 and ::1: the only hosts plain http may carry a credential to. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** https, or http to a loopback address. */
export function isCredentialSafe(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/**
 * The origin GitHub serves git and its web pages on, for its API URL: `https://api.github.com` →
 * `https://github.com`; `https://api.acme.ghe.com` → `https://acme.ghe.com`; GitHub Enterprise
 * Server's `https://host/api/v3` → `https://host`; any
 * other API URL (a test fake) serves them on its own origin. Throws when the URL is not one a
 * credential may go to.
 */
export function githubGitOrigin(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (!isCredentialSafe(url)) throw new Error(`must be https (plain http only to a loopback address): ${apiUrl}`);
  const host = url.hostname.toLowerCase();
  if (host === 'api.github.com') return 'https://github.com';
  // GitHub Enterprise Cloud with data residency: api.<tenant>.ghe.com serves <tenant>.ghe.com.
  if (/^api\.[a-z0-9-]+\.ghe\.com$/.test(host)) return `https://${host.slice('api.'.length)}`;
  return url.origin;
}
