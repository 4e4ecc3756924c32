import { RepositoryUrl } from '@anton/contracts';

/**
 * The https form of a repository URL, which is what the runner and its credential proxy work with
 * (git goes through the proxy's smart-HTTP route): https stays (without any credentials in it),
 * ssh forms (`git@github.com:acme/x.git`, `ssh://git@github.com/acme/x.git`) become
 * `https://github.com/acme/x.git`. Anything else (file://, git://) cannot be reached through the
 * proxy: undefined.
 */
export function httpsRepository(url: string): string | undefined {
  if (!RepositoryUrl.safeParse(url).success) return undefined;
  const scp = /^[\w.-]+@([\w.-]+):\/?([\w./~-]+)$/.exec(url);
  if (scp) return `https://${scp[1]}/${scp[2]}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol === 'ssh:') return `https://${parsed.hostname}${parsed.pathname}`;
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  if (parsed.pathname.replace(/\/+$/, '') === '') return undefined;
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}
