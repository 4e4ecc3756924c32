import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_GITHUB_API_URL, env, githubGitOrigin, isCredentialSafe, parseEnv, TemplateId } from '@anton/contracts';
import { z } from 'zod';
import { AGENT_IMAGE_VARIABLE, TOOLCHAIN_SUFFIX, toolchainImage } from './agent-images.ts';
import type { EnrichmentConfig } from './enrichment/registry.ts';
import { ImageReference, UPSTREAM_NAMES, type UpstreamName, UpstreamUrl } from './job-values.ts';
import { incompleteReporter, type ReportersConfig } from './reporters/registry.ts';
import { RetryStepsText } from './retry-steps.ts';
import { type BudgetConfig, budgetEnv } from './task-budget.ts';

/** Claude Sonnet, current; the SDK warns on deprecated ids. */
export const DEFAULT_ROUTER_MODEL = 'claude-sonnet-5-5';

// src/config.ts and dist/config.js both sit one level below the package root.
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const optionalUrl = env.optional.pipe(UpstreamUrl.optional());
const optionalImage = env.optional.pipe(ImageReference.optional());

const Env = z
  .object({
    LOG_LEVEL: env.logLevel,
    RABBITMQ_URL: z.string().default('amqp://guest:guest@127.0.0.1:5672'),
    PREFETCH: env.int(1, 1),
    MAX_RETRIES: env.int(3, 1),
    /** How long a failed task waits in the broker before each further attempt (the last step repeats). */
    RETRY_DELAYS: RetryStepsText,
    DISPATCHER: z.enum(['kubernetes', 'local']).default('kubernetes'),
    MAX_ACTIVE_JOBS: env.int(5, 1),
    ...budgetEnv,
    /** A message held at the cap is handed back after this long, before RabbitMQ's consumer timeout (30 min). */
    CAPACITY_HOLD_SECONDS: env.int(600, 1),
    DEDUP_WINDOW_SECONDS: env.int(86_400, 0),
    /** The longest a task may hold its claim before its runner exists; a claim left longer without one is stale. */
    DEDUP_PENDING_SECONDS: env.int(3600, 1),
    ROUTING_CONFIG: env.optional,
    JOB_TEMPLATES_DIR: z.string().default(resolve(packageRoot, 'templates')),

    ANTHROPIC_API_KEY: env.optional,
    ANTHROPIC_MODEL: z.string().min(1).default(DEFAULT_ROUTER_MODEL),
    ANTHROPIC_BASE_URL: optionalUrl,
    ROUTER_TIMEOUT_MS: env.int(30_000, 1),
    ROUTER_MAX_RETRIES: env.int(2, 0),
    ROUTER_MAX_TOKENS: env.int(1024, 64),

    K8S_NAMESPACE: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS-1123 label')
      .default('agents'),
    KUBECONFIG: env.optional,
    AGENT_IMAGE: ImageReference.default('anton-runner:latest'),
    AGENT_IMAGE_REACT_FRONTEND: optionalImage,
    AGENT_IMAGE_PYTHON_BACKEND: optionalImage,
    AGENT_IMAGE_JAVA_BACKEND: optionalImage,
    AGENT_IMAGE_GENERAL_RESEARCH: optionalImage,
    KUBERNETES_RETRIES: env.int(3, 0),
    KUBERNETES_RETRY_DELAY_MS: env.int(250, 1),

    // Local dispatcher: the runner and its credential proxy as child processes.
    LOCAL_RUNNER_DIR: z.string().default(resolve(packageRoot, '..', 'runner')),
    /** A non-root orchestrator's runners share its uid with the agent: refused unless this is set. */
    LOCAL_RUNNER_UNSAFE_SHARED_UID: env.flag,
    OPENAI_API_KEY: env.optional,
    OPENAI_BASE_URL: optionalUrl,
    GITHUB_TOKEN: env.optional,
    GITHUB_API_URL: optionalUrl,
    /** Where GitHub serves git: derived from GITHUB_API_URL unless set (a test's git server on another port). */
    GITHUB_GIT_URL: optionalUrl,
    /** The only part of the orchestrator's environment local runners inherit: where git and node are. */
    PATH: z.string().default('/usr/local/bin:/usr/bin:/bin'),

    // Reporters: each optional, configured by its own variables.
    JIRA_BASE_URL: optionalUrl,
    JIRA_EMAIL: env.optional,
    JIRA_API_TOKEN: env.optional,
    JIRA_DONE_LABEL: env.optional.pipe(z.string().regex(/^\S+$/, 'a JIRA label holds no spaces').optional()),
    JIRA_TRANSITION: env.optional,
    DATADOG_API_KEY: env.optional,
    DATADOG_SITE: z
      .string()
      .regex(/^[a-z0-9.-]+$/, 'must be a Datadog site such as datadoghq.eu')
      .default('datadoghq.com'),
    DATADOG_API_URL: optionalUrl,
    // Enrichment: each source's API is read before routing, when its credentials are set.
    ENRICHMENT_TIMEOUT_MS: env.int(10_000, 1),
    ENRICHMENT_MAX_CHARS: env.int(12_000, 500),
    SONAR_TOKEN: env.optional,
    SONAR_URL: z.url({ protocol: /^https?$/ }).default('https://sonarcloud.io'),
    SONAR_ISSUE_LIMIT: env.int(50, 1),
    DATADOG_APP_KEY: env.optional,
    /** Data Center serves personal access tokens as Bearer, which Basic auth does not. */
    JIRA_AUTH: z.enum(['basic', 'bearer']).default('basic'),
    REPORT_MAX_ATTEMPTS: env.int(6, 1),
    /** How long a failed report waits in the broker before each further attempt (the last step repeats). */
    REPORT_RETRY_DELAYS: RetryStepsText,
    REPORT_TIMEOUT_MS: env.int(10_000, 1),
    /** Local runs: attempts of the task.completed message (no Job holds it meanwhile); it outlasts a broker restart. */
    OUTCOME_PUBLISH_ATTEMPTS: env.int(12, 1),

    METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9090),
    METRICS_HOST: z.string().default('0.0.0.0'),
    SHUTDOWN_TIMEOUT_MS: env.int(30_000, 0),
  })
  .superRefine((vars, ctx) => {
    for (const templateId of TemplateId.options) {
      const name = AGENT_IMAGE_VARIABLE[templateId];
      if (vars[name] === undefined && toolchainImage(vars.AGENT_IMAGE, TOOLCHAIN_SUFFIX[templateId]) === undefined) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'required when AGENT_IMAGE is pinned by digest' });
      }
    }
    // The GitHub token follows these: https only, plain http only to a loopback test fake.
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
  })
  .transform((vars) => {
    const upstreams: Partial<Record<UpstreamName, string>> = {};
    for (const name of UPSTREAM_NAMES) {
      const value = vars[name];
      if (value !== undefined) upstreams[name] = value;
    }
    return {
      logLevel: vars.LOG_LEVEL,
      rabbitmq: {
        url: vars.RABBITMQ_URL,
        prefetch: vars.PREFETCH,
        maxRetries: vars.MAX_RETRIES,
        retrySteps: vars.RETRY_DELAYS,
      },
      dispatcher: vars.DISPATCHER,
      maxActiveJobs: vars.MAX_ACTIVE_JOBS,
      /** Each task's model-call budget, enforced by its credential proxy. */
      budget: { usd: vars.TASK_BUDGET_USD, scale: vars.BUDGET_SCALE } satisfies BudgetConfig,
      capacityHoldMs: vars.CAPACITY_HOLD_SECONDS * 1000,
      dedupWindowMs: vars.DEDUP_WINDOW_SECONDS * 1000,
      dedupPendingMs: vars.DEDUP_PENDING_SECONDS * 1000,
      routingConfigPath: vars.ROUTING_CONFIG,
      /** The only host repositories are cloned from and the GitHub token goes to (with the API's). */
      gitOrigin: vars.GITHUB_GIT_URL
        ? new URL(vars.GITHUB_GIT_URL).origin
        : githubGitOrigin(vars.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL),
      templatesDir: vars.JOB_TEMPLATES_DIR,
      router: {
        apiKey: vars.ANTHROPIC_API_KEY,
        model: vars.ANTHROPIC_MODEL,
        baseUrl: vars.ANTHROPIC_BASE_URL,
        timeoutMs: vars.ROUTER_TIMEOUT_MS,
        maxRetries: vars.ROUTER_MAX_RETRIES,
        maxTokens: vars.ROUTER_MAX_TOKENS,
      },
      kubernetes: {
        namespace: vars.K8S_NAMESPACE,
        kubeconfig: vars.KUBECONFIG,
        images: {
          runner: vars.AGENT_IMAGE,
          agents: Object.fromEntries(
            TemplateId.options.map((t) => [
              t,
              vars[AGENT_IMAGE_VARIABLE[t]] ??
                toolchainImage(vars.AGENT_IMAGE, TOOLCHAIN_SUFFIX[t]) ??
                vars.AGENT_IMAGE,
            ]),
          ) as Record<TemplateId, string>,
        },
        retries: vars.KUBERNETES_RETRIES,
        retryDelayMs: vars.KUBERNETES_RETRY_DELAY_MS,
      },
      /** Upstreams handed to the credential proxy (pod or local process); unset ones keep its defaults. */
      upstreams,
      local: {
        runnerDir: vars.LOCAL_RUNNER_DIR,
        path: vars.PATH,
        unsafeSharedUid: vars.LOCAL_RUNNER_UNSAFE_SHARED_UID,
        keys: { anthropic: vars.ANTHROPIC_API_KEY, openai: vars.OPENAI_API_KEY, github: vars.GITHUB_TOKEN },
      },
      reporters: {
        jira:
          vars.JIRA_BASE_URL && vars.JIRA_EMAIL && vars.JIRA_API_TOKEN
            ? {
                baseUrl: vars.JIRA_BASE_URL,
                email: vars.JIRA_EMAIL,
                apiToken: vars.JIRA_API_TOKEN,
                doneLabel: vars.JIRA_DONE_LABEL,
                transition: vars.JIRA_TRANSITION,
                ...(vars.JIRA_AUTH === 'bearer' && { authorization: `Bearer ${vars.JIRA_API_TOKEN}` }),
              }
            : undefined,
        datadog: vars.DATADOG_API_KEY
          ? { apiUrl: vars.DATADOG_API_URL ?? `https://api.${vars.DATADOG_SITE}`, apiKey: vars.DATADOG_API_KEY }
          : undefined,
        // Half a JIRA configuration leaves it off with a warning, not a crash loop: the Deployment
        // reads each setting from the secret, where an operator may fill in one and not the others.
        incomplete: incompleteReporter('JIRA', {
          JIRA_BASE_URL: vars.JIRA_BASE_URL,
          JIRA_EMAIL: vars.JIRA_EMAIL,
          JIRA_API_TOKEN: vars.JIRA_API_TOKEN,
        }),
      } satisfies ReportersConfig,
      enrichment: {
        timeoutMs: vars.ENRICHMENT_TIMEOUT_MS,
        maxChars: vars.ENRICHMENT_MAX_CHARS,
        sonar: vars.SONAR_TOKEN
          ? { baseUrl: vars.SONAR_URL, token: vars.SONAR_TOKEN, issueLimit: vars.SONAR_ISSUE_LIMIT }
          : undefined,
        datadog:
          vars.DATADOG_API_KEY && vars.DATADOG_APP_KEY
            ? {
                apiUrl: vars.DATADOG_API_URL ?? `https://api.${vars.DATADOG_SITE}`,
                apiKey: vars.DATADOG_API_KEY,
                appKey: vars.DATADOG_APP_KEY,
              }
            : undefined,
        jira:
          vars.JIRA_BASE_URL && vars.JIRA_API_TOKEN && (vars.JIRA_AUTH === 'bearer' || vars.JIRA_EMAIL)
            ? {
                baseUrl: vars.JIRA_BASE_URL,
                authorization:
                  vars.JIRA_AUTH === 'bearer'
                    ? `Bearer ${vars.JIRA_API_TOKEN}`
                    : `Basic ${Buffer.from(`${vars.JIRA_EMAIL}:${vars.JIRA_API_TOKEN}`).toString('base64')}`,
              }
            : undefined,
      } satisfies EnrichmentConfig,
      reports: {
        maxAttempts: vars.REPORT_MAX_ATTEMPTS,
        retrySteps: vars.REPORT_RETRY_DELAYS,
        timeoutMs: vars.REPORT_TIMEOUT_MS,
        publishAttempts: vars.OUTCOME_PUBLISH_ATTEMPTS,
      },
      metrics: { port: vars.METRICS_PORT, host: vars.METRICS_HOST },
      shutdownTimeoutMs: vars.SHUTDOWN_TIMEOUT_MS,
    };
  });

export type OrchestratorConfig = z.output<typeof Env>;
/** Every variable the orchestrator reads (docs/configuration.md is checked against it). */
export const ENV_VARIABLES = Object.keys(Env.in.shape);

export function loadConfig(source: Record<string, string | undefined>): OrchestratorConfig {
  return parseEnv(Env, source);
}
