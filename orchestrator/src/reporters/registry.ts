import type { Source } from '@anton/contracts';
import { type DatadogReporterConfig, datadogReporter } from './datadog-reporter.ts';
import { type JiraReporterConfig, jiraReporter } from './jira-reporter.ts';
import type { Reporter } from './reporter.ts';

export interface ReportersConfig {
  /** Unset: nothing is posted to JIRA. */
  jira: JiraReporterConfig | undefined;
  /** Unset: nothing is posted to Datadog. */
  datadog: DatadogReporterConfig | undefined;
}

/**
 * The reporters that run for each source's outcomes, each only when configured.
 *
 * None for SonarCloud: it has no place to post to; the outcome shows in the PR and in the logs
 * (and in the task.completed message). None for GitHub either, whatever the source: a PR's body
 * already links back to the issue, alert or analysis, and a run that opened no PR posts nothing to
 * the repository.
 */
export function reportersBySource(config: ReportersConfig): Record<Source, Reporter[]> {
  return {
    jira: config.jira ? [jiraReporter(config.jira)] : [],
    datadog: config.datadog ? [datadogReporter(config.datadog)] : [],
    sonarcloud: [],
  };
}
