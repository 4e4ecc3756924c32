import type { Source } from '@anton/contracts';
import type { Logger } from 'pino';
import { type DatadogReporterConfig, datadogReporter } from './datadog-reporter.ts';
import { type JiraReporterConfig, jiraReporter } from './jira-reporter.ts';
import type { Reporter } from './reporter.ts';

export interface ReportersConfig {
  /** Unset: nothing is posted to JIRA. */
  jira: JiraReporterConfig | undefined;
  /** Unset: nothing is posted to Datadog. */
  datadog: DatadogReporterConfig | undefined;
  /** One line per reporter left off because some, not all, of its settings are there. */
  incomplete: string[];
}

/** `[]` when all or none of a reporter's settings are set, else the line saying which are missing. */
export function incompleteReporter(name: string, settings: Record<string, string | undefined>): string[] {
  const missing = Object.keys(settings).filter((key) => !settings[key]);
  if (missing.length === 0 || missing.length === Object.keys(settings).length) return [];
  const list = missing.length === 1 ? missing[0] : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}`;
  return [`${name} reporting is off: ${list} ${missing.length === 1 ? 'is' : 'are'} not set`];
}

/**
 * The reporters that run for each source's outcomes, each only when configured.
 *
 * None for SonarCloud: it has no place to post to; the outcome shows in the PR and in the logs
 * (and in the task.completed message). None for GitHub either, whatever the source: a PR's body
 * already links back to the issue, alert or analysis, and a run that opened no PR posts nothing to
 * the repository.
 */
export function reportersBySource(config: ReportersConfig, logger: Pick<Logger, 'warn'>): Record<Source, Reporter[]> {
  for (const line of config.incomplete) logger.warn(line);
  return {
    jira: config.jira ? [jiraReporter(config.jira)] : [],
    datadog: config.datadog ? [datadogReporter(config.datadog)] : [],
    sonarcloud: [],
  };
}

/** Each configured reporter once, with the sources whose outcomes it tells: one queue each. */
export function reporterSources(
  bySource: Record<Source, Reporter[]>,
): Array<{ reporter: Reporter; sources: Set<Source> }> {
  const found = new Map<string, { reporter: Reporter; sources: Set<Source> }>();
  for (const [source, reporters] of Object.entries(bySource) as Array<[Source, Reporter[]]>) {
    for (const reporter of reporters) {
      const entry = found.get(reporter.name) ?? { reporter, sources: new Set<Source>() };
      entry.sources.add(source);
      found.set(reporter.name, entry);
    }
  }
  return [...found.values()];
}
