import type { Logger } from 'pino';
import { type DatadogEnricherConfig, datadogEnricher } from './datadog/datadog-enricher.ts';
import type { Enricher } from './enricher.ts';
import { type JiraEnricherConfig, jiraEnricher } from './jira/jira-enricher.ts';
import { type SonarEnricherConfig, sonarEnricher } from './sonar/sonar-enricher.ts';

export interface EnrichmentConfig {
  timeoutMs: number;
  maxChars: number;
  /** Unset: Sonar tasks carry only the webhook's gate conditions. */
  sonar: SonarEnricherConfig | undefined;
  datadog: DatadogEnricherConfig | undefined;
  jira: JiraEnricherConfig | undefined;
}

/** The configured enrichers; each unconfigured source is named once, here, at start. */
export function enrichersFromConfig(config: EnrichmentConfig, logger: Logger): Enricher[] {
  const enrichers: Enricher[] = [];
  if (config.sonar) enrichers.push(sonarEnricher(config.sonar));
  else logger.warn('SONAR_TOKEN is not set: Sonar tasks are not enriched with their issues, rules and lines');
  if (config.datadog) enrichers.push(datadogEnricher(config.datadog));
  else {
    logger.warn(
      'DATADOG_API_KEY and DATADOG_APP_KEY are not both set: Datadog tasks are not enriched with error logs and traces',
    );
  }
  if (config.jira) enrichers.push(jiraEnricher(config.jira));
  else logger.warn('JIRA_BASE_URL and JIRA_API_TOKEN are not set: JIRA tasks are not enriched with comments and links');
  return enrichers;
}
