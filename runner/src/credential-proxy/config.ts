import { env, parseEnv } from '@anton/contracts';
import { z } from 'zod';

const url = z.url({ protocol: /^https?$/ });

/** The proxy is the only holder of the keys: without one it cannot do its job, so say so plainly. */
const key = (what: string) =>
  z
    .string({
      error: `required: the credential proxy holds the ${what} the runner uses (set it where the proxy starts)`,
    })
    .min(1, `must not be empty: the credential proxy holds the ${what} the runner uses`);

const Env = z.object({
  LOG_LEVEL: env.logLevel,
  TASK_ID: env.optional,
  /** 0 picks a free port (the local dispatcher reads it from the "listening" log line). */
  PROXY_PORT: z.coerce.number().int().min(0).max(65535).default(8181),
  ANTHROPIC_API_KEY: key('Anthropic API key'),
  OPENAI_API_KEY: key('OpenAI API key'),
  GITHUB_TOKEN: key('GitHub token'),
  ANTHROPIC_BASE_URL: env.optional.pipe(url.default('https://api.anthropic.com')),
  OPENAI_BASE_URL: env.optional.pipe(url.default('https://api.openai.com/v1')),
  GITHUB_API_URL: env.optional.pipe(url.default('https://api.github.com')),
  /** Clone URL of the one repository git and the GitHub API may reach. */
  ALLOWED_REPOSITORY: url,
});

export function loadProxyConfig(source: Record<string, string | undefined>) {
  const vars = parseEnv(Env, source);
  const repository = new URL(vars.ALLOWED_REPOSITORY);
  const path = repository.pathname.replace(/\/+$/, '');
  const segments = path
    .replace(/\.git$/, '')
    .split('/')
    .filter(Boolean);
  const [owner, repo] = segments.slice(-2);
  if (segments.length < 2 || !owner || !repo) {
    throw new Error(
      `invalid configuration: ALLOWED_REPOSITORY: cannot tell owner/repo from ${vars.ALLOWED_REPOSITORY}`,
    );
  }
  return {
    logLevel: vars.LOG_LEVEL,
    taskId: vars.TASK_ID,
    port: vars.PROXY_PORT,
    anthropic: { upstream: trimSlash(vars.ANTHROPIC_BASE_URL), key: vars.ANTHROPIC_API_KEY },
    openai: { upstream: trimSlash(vars.OPENAI_BASE_URL), key: vars.OPENAI_API_KEY },
    github: { upstream: trimSlash(vars.GITHUB_API_URL), token: vars.GITHUB_TOKEN },
    repository: {
      /** scheme://host[:port] of the git server. */
      origin: repository.origin,
      host: repository.host.toLowerCase(),
      /** The repository's path on the git server, as configured (with or without `.git`). */
      path,
      owner,
      repo,
    },
  };
}

export type ProxyConfig = ReturnType<typeof loadProxyConfig>;

function trimSlash(value: string): string {
  return value.replace(/\/+$/, '');
}
