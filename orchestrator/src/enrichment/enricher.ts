import type { AgentTask, Source } from '@anton/contracts';

/** What a source's API adds to a task: text for the description, and facts the later stages use. */
export interface Enrichment {
  /** Plain text, one section (the caller adds the heading and the budget). */
  text: string;
  /** The branch to clone and target, when the API knows it (a Sonar pull request's head branch). */
  baseBranch?: string;
  /** The commit the alerting service runs (Datadog's `git.commit.sha`). */
  deployedCommit?: string;
}

/**
 * One source's enrichment: its API client, schema and formatter behind this. `undefined` means
 * the API had nothing to add for this task. Throwing (or not finishing before `signal`) leaves
 * the task as it came.
 */
export interface Enricher {
  readonly source: Source;
  /** The section heading in the task description, e.g. "SonarCloud findings". */
  readonly heading: string;
  enrich(task: AgentTask, signal: AbortSignal): Promise<Enrichment | undefined>;
}
