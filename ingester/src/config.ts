import { env, parseEnv } from '@anton/contracts';
import { z } from 'zod';

/** The shared secret in dev mode (`ANTON_DEV=1` without `WEBHOOK_SECRET`); `send-webhook` uses it too. */
export const DEV_WEBHOOK_SECRET = 'anton-dev-secret';

const SOURCE_SECRETS = ['JIRA_WEBHOOK_SECRET', 'DATADOG_WEBHOOK_SECRET', 'SONAR_WEBHOOK_SECRET'] as const;

const Env = z
  .object({
    ANTON_DEV: env.flag,
    WEBHOOK_SECRET: env.optional,
    JIRA_WEBHOOK_SECRET: env.optional,
    DATADOG_WEBHOOK_SECRET: env.optional,
    SONAR_WEBHOOK_SECRET: env.optional,
    /** Routes besides Datadog's that also take the plain `X-Webhook-Secret` header (JIRA Automation cannot sign). */
    SHARED_SECRET_ROUTES: env.list.pipe(z.array(z.enum(['jira', 'sonar']))),
    JIRA_TRIGGER_LABEL: env.optional,
    JIRA_TRIGGER_STATUSES: env.list,
    MAX_BODY_BYTES: env.int(1024 * 1024, 1),
    RABBITMQ_URL: z.url({ protocol: /^amqps?$/ }).default('amqp://guest:guest@127.0.0.1:5672'),
    PUBLISH_TIMEOUT_MS: env.int(5000, 1),
    PORT: z.coerce.number().int().min(0).max(65535).default(8000),
    HOST: z.string().default('0.0.0.0'),
    /** `/metrics` only, on HOST; the webhook Service does not expose it. */
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9090),
    LOG_LEVEL: env.logLevel,
  })
  .superRefine((vars, ctx) => {
    // The shared secret is only the fallback of a source without its own.
    const unset = SOURCE_SECRETS.filter((name) => !vars[name]);
    if (!vars.WEBHOOK_SECRET && !vars.ANTON_DEV && unset.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['WEBHOOK_SECRET'],
        message: `required for the sources without their own secret (${unset.join(', ')} unset); set ANTON_DEV=1 to run without`,
      });
    }
  })
  .transform((vars) => {
    const shared = vars.WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET;
    return {
      /** True when some route accepts the well-known dev secret (dev mode without WEBHOOK_SECRET). */
      devSecret: vars.WEBHOOK_SECRET === undefined && SOURCE_SECRETS.some((name) => !vars[name]),
      /** Per source, keyed like `AgentTask.source`; each falls back to `WEBHOOK_SECRET`. */
      secrets: {
        jira: vars.JIRA_WEBHOOK_SECRET ?? shared,
        datadog: vars.DATADOG_WEBHOOK_SECRET ?? shared,
        sonarcloud: vars.SONAR_WEBHOOK_SECRET ?? shared,
      },
      /** The sources that accept `X-Webhook-Secret` on top of their signature; Datadog always does (it signs nothing). */
      sharedSecretSources: vars.SHARED_SECRET_ROUTES.map((route) => (route === 'sonar' ? 'sonarcloud' : route)),
      jira: { triggerLabel: vars.JIRA_TRIGGER_LABEL, triggerStatuses: vars.JIRA_TRIGGER_STATUSES },
      maxBodyBytes: vars.MAX_BODY_BYTES,
      rabbitmqUrl: vars.RABBITMQ_URL,
      publishTimeoutMs: vars.PUBLISH_TIMEOUT_MS,
      port: vars.PORT,
      metricsPort: vars.METRICS_PORT,
      host: vars.HOST,
      logLevel: vars.LOG_LEVEL,
    };
  });

export type IngesterConfig = z.output<typeof Env>;
export type JiraTriggers = IngesterConfig['jira'];
/** Every variable the ingester reads (docs/configuration.md is checked against it). */
export const ENV_VARIABLES = Object.keys(Env.in.shape);

export function loadConfig(source: Record<string, string | undefined>): IngesterConfig {
  return parseEnv(Env, source);
}
