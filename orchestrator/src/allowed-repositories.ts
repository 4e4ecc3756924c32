import type { HostedRepository } from './repository-url.ts';

/**
 * `allowed_repositories:` patterns of ROUTING_CONFIG: `host/owner/*` (every repository of one
 * owner) or `host/owner/repo`, on the configured git host. They let a payload name a repository
 * the routing entries do not list; nothing wider (no `host/*`) can be written, so an operator
 * always names whose repositories anton may work on.
 */
export interface RepositoryPattern {
  /** `host/owner/`, lower case. */
  owner: string;
  /** The repository's name, lower case; undefined for `*`. */
  repo: string | undefined;
}

const PATTERN = /^([\w.-]+(?::\d+)?)\/([A-Za-z0-9_-][A-Za-z0-9._-]*)\/(\*|[A-Za-z0-9_-][A-Za-z0-9._-]*)$/;

export type PatternCheck = { ok: true; pattern: RepositoryPattern } | { ok: false; problem: string };

export function parseRepositoryPattern(value: string, gitOrigin: string): PatternCheck {
  const host = new URL(gitOrigin).host.toLowerCase();
  const match = PATTERN.exec(value);
  if (!match?.[1] || !match[2] || !match[3]) {
    return { ok: false, problem: `must be ${host}/<owner>/* or ${host}/<owner>/<repo>: ${value}` };
  }
  if (match[1].toLowerCase() !== host) {
    return {
      ok: false,
      problem: `${match[1]} is not the configured GitHub git host ${host} (GITHUB_API_URL, GITHUB_GIT_URL)`,
    };
  }
  const repo = match[3] === '*' ? undefined : match[3].replace(/\.git$/, '').toLowerCase();
  return { ok: true, pattern: { owner: `${host}/${match[2].toLowerCase()}/`, repo } };
}

export function matchesPattern(repository: HostedRepository, pattern: RepositoryPattern): boolean {
  if (!repository.key.startsWith(pattern.owner)) return false;
  return pattern.repo === undefined || repository.key === `${pattern.owner}${pattern.repo}`;
}
