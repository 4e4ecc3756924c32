import {
  BudgetUsd,
  CONTEXT_PATH,
  Complexity,
  DEFAULT_GITHUB_API_URL,
  env,
  githubGitOrigin,
  isCredentialSafe,
  modelPricesEnv,
  parseEnv,
  TemplateId,
} from '@anton/contracts';
import { z } from 'zod';
import { INHERITED_SHELL_VARS } from './shell/shell-env.ts';
import { DEFAULT_SHELL_TIMEOUT_MAX_SECONDS } from './tools/run-shell-command.ts';

/** Claude Sonnet, current. */
export const DEFAULT_CODER_MODEL = 'claude-sonnet-5-5';
export const DEFAULT_REVIEWER_MODEL = 'gpt-4o';
/** Sent where an SDK insists on a key in proxy mode; the proxy drops it and adds the real one. */
export const PROXY_PLACEHOLDER_KEY = 'anton-credential-proxy';

const url = z.url({ protocol: /^https?$/ });

const Env = z
  .object({
    LOG_LEVEL: env.logLevel,
    TASK_ID: env.optional,
    TEMPLATE_ID: env.optional.pipe(TemplateId.optional()),
    COMPLEXITY: env.optional.pipe(Complexity.optional()),
    CONTEXT_PATH: z.string().min(1).default(CONTEXT_PATH),
    WORK_DIR: z.string().min(1).default('/app/workspace'),
    /** Where the runner keeps its own git directory (a fresh 0700 one inside); writable, outside WORK_DIR. */
    RUNNER_STATE_DIR: z.string().min(1).default('/tmp'),
    TERMINATION_LOG: env.optional,

    CREDENTIAL_PROXY_URL: env.optional.pipe(url.optional()),
    ANTHROPIC_API_KEY: env.optional,
    ANTHROPIC_MODEL: z.string().min(1).default(DEFAULT_CODER_MODEL),
    ANTHROPIC_BASE_URL: env.optional.pipe(url.optional()),
    OPENAI_API_KEY: env.optional,
    OPENAI_MODEL: z.string().min(1).default(DEFAULT_REVIEWER_MODEL),
    /** The reviewer's model once OpenAI answers that OPENAI_MODEL does not exist (retired). */
    OPENAI_FALLBACK_MODEL: env.optional,
    OPENAI_BASE_URL: env.optional.pipe(url.optional()),
    GITHUB_TOKEN: env.optional,
    GITHUB_API_URL: env.optional.pipe(url.optional()),
    /** Direct mode: the git host the token may go to; derived from GITHUB_API_URL unless set. */
    GITHUB_GIT_URL: env.optional.pipe(url.optional()),

    /** The agent's uid and gid when the runner runs as root (the pod's 10001); unset: random, unused ones. */
    AGENT_UID: z.coerce.number().int().min(1).max(4_294_967_294).optional(),
    AGENT_GID: z.coerce.number().int().min(1).max(4_294_967_294).optional(),
    /** A runner that is not root cannot give the agent a uid of its own; it refuses to run unless this is set. */
    LOCAL_RUNNER_UNSAFE_SHARED_UID: env.flag,

    /**
     * A ceiling on model calls per review round, behind the budget (the primary limit): real fixes
     * take 40–100 calls (SWE-agent allows 150, mini-swe-agent 250); the original's 15 threw them away.
     */
    MAX_CODER_TURNS: env.int(100, 1),
    /** USD the task may spend on model calls. In the Job its credential proxy holds the scaled one and says it at the claim. */
    TASK_BUDGET_USD: BudgetUsd.default(3),
    MODEL_PRICES: modelPricesEnv,
    /** Pull requests open as drafts: a person marks them ready. */
    PR_DRAFT: z
      .enum(['0', '1', 'true', 'false', ''])
      .default('1')
      .transform((v) => v !== '0' && v !== 'false'),
    SHELL_TIMEOUT: env.int(120, 1),
    /** The most a single run_shell_command may ask for (`timeout_seconds`): cold builds need more than the default. */
    SHELL_TIMEOUT_MAX: env.int(DEFAULT_SHELL_TIMEOUT_MAX_SECONDS, 1),
    MAX_REVIEW_REJECTIONS: env.int(3, 1),
    CODER_MAX_TOKENS: env.int(8192, 256),
    /** Retries of one LLM or GitHub call on 429/5xx/connection errors, by the SDKs' own backoff. */
    API_MAX_RETRIES: env.int(4, 0),
    API_TIMEOUT_SECONDS: env.int(600, 1),
  })
  .superRefine((vars, ctx) => {
    if (vars.SHELL_TIMEOUT > vars.SHELL_TIMEOUT_MAX) {
      ctx.addIssue({
        code: 'custom',
        path: ['SHELL_TIMEOUT'],
        message: `must not exceed SHELL_TIMEOUT_MAX (${vars.SHELL_TIMEOUT_MAX})`,
      });
    }
    if (vars.CREDENTIAL_PROXY_URL) return;
    for (const name of ['GITHUB_API_URL', 'GITHUB_GIT_URL'] as const) {
      const value = vars[name];
      if (value !== undefined && !isCredentialSafe(new URL(value))) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'must be https (plain http only to a loopback address)',
        });
      }
    }
    // Direct mode (a hand-run runner): the keys come from this environment.
    for (const name of ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GITHUB_TOKEN'] as const) {
      if (!vars[name])
        ctx.addIssue({ code: 'custom', path: [name], message: 'required unless CREDENTIAL_PROXY_URL is set' });
    }
  });

type Vars = z.output<typeof Env>;
/** Every variable the runner reads (docs/configuration.md is checked against it). */
export const ENV_VARIABLES = Object.keys(Env.shape);

/**
 * Where each API is reached and with which credential. With CREDENTIAL_PROXY_URL every base URL
 * derives from the proxy and no real key is known to this process; without it, direct mode.
 */
function endpoints(vars: Vars, shellVars: Record<string, string | undefined>) {
  const proxy = vars.CREDENTIAL_PROXY_URL?.replace(/\/+$/, '');
  if (proxy) {
    return {
      mode: 'proxy' as const,
      anthropic: { baseURL: `${proxy}/anthropic`, apiKey: PROXY_PLACEHOLDER_KEY },
      openai: { baseURL: `${proxy}/openai/v1`, apiKey: PROXY_PLACEHOLDER_KEY },
      github: { apiUrl: `${proxy}/github`, token: undefined },
      git: { kind: 'proxy' as const, proxyUrl: proxy },
      shellVars,
    };
  }
  return {
    mode: 'direct' as const,
    anthropic: { baseURL: vars.ANTHROPIC_BASE_URL, apiKey: vars.ANTHROPIC_API_KEY ?? '' },
    openai: { baseURL: vars.OPENAI_BASE_URL, apiKey: vars.OPENAI_API_KEY ?? '' },
    github: { apiUrl: vars.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL, token: vars.GITHUB_TOKEN },
    git: {
      kind: 'direct' as const,
      token: vars.GITHUB_TOKEN,
      gitOrigin: vars.GITHUB_GIT_URL
        ? new URL(vars.GITHUB_GIT_URL).origin
        : githubGitOrigin(vars.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL),
    },
    shellVars,
  };
}

export function loadConfig(source: Record<string, string | undefined>) {
  const vars = parseEnv(Env, source);
  const shellVars = Object.fromEntries(INHERITED_SHELL_VARS.map((name) => [name, source[name]]));
  const { shellVars: inherited, ...access } = endpoints(vars, shellVars);
  return {
    logLevel: vars.LOG_LEVEL,
    taskId: vars.TASK_ID,
    templateId: vars.TEMPLATE_ID,
    complexity: vars.COMPLEXITY,
    contextPath: vars.CONTEXT_PATH,
    workDir: vars.WORK_DIR,
    stateDir: vars.RUNNER_STATE_DIR,
    terminationLog: vars.TERMINATION_LOG,
    ...access,
    coder: {
      model: vars.ANTHROPIC_MODEL,
      maxTurns: vars.MAX_CODER_TURNS,
      maxTokens: vars.CODER_MAX_TOKENS,
    },
    reviewer: {
      model: vars.OPENAI_MODEL,
      fallback: vars.OPENAI_FALLBACK_MODEL,
      maxRejections: vars.MAX_REVIEW_REJECTIONS,
    },
    budget: { usd: vars.TASK_BUDGET_USD, prices: vars.MODEL_PRICES },
    pullRequest: { draft: vars.PR_DRAFT },
    shell: { timeoutMs: vars.SHELL_TIMEOUT * 1000, maxTimeoutMs: vars.SHELL_TIMEOUT_MAX * 1000, inherited },
    agent: { uid: vars.AGENT_UID, gid: vars.AGENT_GID, unsafeSharedUid: vars.LOCAL_RUNNER_UNSAFE_SHARED_UID },
    api: { maxRetries: vars.API_MAX_RETRIES, timeoutMs: vars.API_TIMEOUT_SECONDS * 1000 },
  };
}

export type RunnerConfig = ReturnType<typeof loadConfig>;

/** Read apart from the rest, so even a run whose configuration is invalid can report that. */
export function terminationLogPath(source: Record<string, string | undefined>): string | undefined {
  return source.TERMINATION_LOG || undefined;
}
