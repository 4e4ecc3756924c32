import type { Source } from '@anton/contracts';
import type { JiraTriggers } from '../config.ts';
import { datadogWebhook } from './datadog-webhook.ts';
import { jiraWebhook } from './jira-webhook.ts';
import { sonarWebhook } from './sonar-webhook.ts';
import type { WebhookSource } from './webhook-source.ts';

/** Every webhook sender, keyed by `AgentTask.source`; the routes are generated from it. */
export function createSourceRegistry(settings: { jira: JiraTriggers }): Record<Source, WebhookSource> {
  return {
    jira: jiraWebhook(settings.jira),
    datadog: datadogWebhook,
    sonarcloud: sonarWebhook,
  };
}
