import type { Source } from '@anton/contracts';
import type { JiraTriggers } from '../config.ts';
import { sharedSecretMatches } from '../webhook-auth.ts';
import { datadogWebhook } from './datadog-webhook.ts';
import { jiraWebhook } from './jira-webhook.ts';
import { sonarWebhook } from './sonar-webhook.ts';
import type { WebhookSource } from './webhook-source.ts';

export interface SourceSettings {
  jira: JiraTriggers;
  /** JIRA and Sonar sign their deliveries; these also take the shared-secret header (default none). */
  sharedSecretSources?: readonly Source[];
}

/** Every webhook sender, keyed by `AgentTask.source`; the routes are generated from it. */
export function createSourceRegistry(settings: SourceSettings): Record<Source, WebhookSource> {
  const shared = new Set(settings.sharedSecretSources ?? []);
  const withShared = (source: WebhookSource) => (shared.has(source.source) ? acceptingSharedSecret(source) : source);
  return {
    jira: withShared(jiraWebhook(settings.jira)),
    datadog: datadogWebhook,
    sonarcloud: withShared(sonarWebhook),
  };
}

/**
 * A signing source that also takes `X-Webhook-Secret`. Opt-in per source: that header is how
 * Datadog sends its secret, shown to whoever can read Datadog's webhook settings, so by default
 * it opens no other route even where one WEBHOOK_SECRET serves every source.
 */
function acceptingSharedSecret(source: WebhookSource): WebhookSource {
  return {
    ...source,
    authenticate: (headers, rawBody, secret) =>
      source.authenticate(headers, rawBody, secret) || sharedSecretMatches(headers, secret),
  };
}
