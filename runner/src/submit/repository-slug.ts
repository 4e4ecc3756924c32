/** owner/repo of a clone URL: the last two path segments, `.git` dropped (https, ssh, scp-like, file). */
export function repositorySlug(repoUrl: string): { owner: string; repo: string } {
  const path = /^[\w.-]+@[\w.-]+:(.+)$/.exec(repoUrl)?.[1] ?? new URL(repoUrl).pathname;
  const segments = path
    .replace(/\.git\/?$/, '')
    .split('/')
    .filter(Boolean);
  const repo = segments.at(-1);
  const owner = segments.at(-2);
  if (!owner || !repo) throw new Error(`cannot tell owner and repository from ${repoUrl}`);
  return { owner, repo };
}
