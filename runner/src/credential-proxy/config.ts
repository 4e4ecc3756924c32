import { BudgetUsd, env, modelPricesEnv, parseEnv } from '@anton/contracts';
import { z } from 'zod';

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** Where a key goes: https, or http only to this machine (the fakes of the tests). */
const url = z.url({ protocol: /^https?$/ }).refine((value) => {
  const { protocol, hostname } = new URL(value);
  return protocol === 'https:' || LOOPBACK.test(hostname);
}, 'must be https (http only to a loopback address): the proxy sends a key there');

/** The git host of a GitHub API: github.com for api.github.com, the host itself for GitHub Enterprise Server. */
export function gitHostOf(apiUrl: string): string {
  const { hostname } = new URL(apiUrl);
  return hostname.toLowerCase() === 'api.github.com' ? 'github.com' : hostname.toLowerCase();
}

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
  /** The task's budget (the orchestrator scales it by complexity); model calls past it get 402. */
  TASK_BUDGET_USD: BudgetUsd.default(3),
  /** JSON: model → USD per MTok of input, output, cache_write, cache_read, over the defaults. */
  MODEL_PRICES: modelPricesEnv,
});

/** Every variable the credential proxy reads (docs/configuration.md is checked against it). */
export const ENV_VARIABLES = Object.keys(Env.shape);

export function loadProxyConfig(source: Record<string, string | undefined>) {
  const vars = parseEnv(Env, source);
  const repository = new URL(vars.ALLOWED_REPOSITORY);
  const api = new URL(vars.GITHUB_API_URL);
  // The token goes to the GitHub the operator configured, never to a host a task names.
  const gitHost = gitHostOf(vars.GITHUB_API_URL);
  const sameServer = LOOPBACK.test(repository.hostname) || repository.port === api.port;
  if (repository.hostname.toLowerCase() !== gitHost || !sameServer) {
    throw new Error(
      `invalid configuration: ALLOWED_REPOSITORY: ${repository.host} is not the git host of GITHUB_API_URL ` +
        `(${gitHost}${api.port ? `:${api.port}` : ''}): the proxy sends the GitHub token only there`,
    );
  }
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
    budget: { usd: vars.TASK_BUDGET_USD, prices: vars.MODEL_PRICES },
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
