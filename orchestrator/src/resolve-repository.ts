import type { AgentTask } from '@anton/contracts';
import { matchesPattern } from './allowed-repositories.ts';
import { namedRepository } from './repository-url.ts';
import type { RoutingConfig, RoutingEntry } from './routing-config.ts';

export type ResolvedBy = 'task' | 'datadog-repository-tag' | 'jira-project' | 'datadog-service' | 'sonar-project';

export interface ResolvedRepository {
  url: string;
  baseBranch: string;
  /** The routing entry for this repository, when there is one: its template, languages and instructions apply. */
  entry?: RoutingEntry;
  resolvedBy: ResolvedBy;
}

/** Datadog's source-code integration tag naming the repository a service is built from. */
const DATADOG_REPOSITORY_TAG = 'git.repository_url';

export type Resolution =
  | { kind: 'resolved'; repository: ResolvedRepository }
  /** The payload names a repository ROUTING_CONFIG does not allow: the task starts nothing. */
  | { kind: 'not-allowed'; named: string }
  | { kind: 'none' };

/**
 * Which repository a task is about. ROUTING_CONFIG is the allowlist: a repository named by the
 * task (the payload, or Datadog's `git.repository_url` tag) wins only if it is one of the entries or
 * matches `allowed_repositories`; a named one outside it is refused, not skipped, so a payload can
 * never send the runner (and the GitHub token its proxy adds) to a repository the operator did not
 * choose. Otherwise the map decides, by JIRA project, Datadog service or Sonar project key. The
 * task's own base branch (what Sonar analysed) wins over the entry's.
 */
export function resolveRepository(task: AgentTask, config: RoutingConfig): Resolution {
  const named =
    task.repository ?? task.labels?.[DATADOG_REPOSITORY_TAG] ?? datadogTags(task).get(DATADOG_REPOSITORY_TAG);
  if (named !== undefined) {
    const check = namedRepository(named, config.gitOrigin);
    if (!check.ok) return { kind: 'not-allowed', named };
    const entry = config.repositories.find((e) => sameRepository(e.url, check.repository.url, config));
    if (entry)
      return resolved({
        url: entry.url,
        baseBranch: task.base_branch ?? entry.base_branch,
        entry,
        resolvedBy: namedBy(task),
      });
    if (!config.allowed_repositories.some((pattern) => matchesPattern(check.repository, pattern))) {
      return { kind: 'not-allowed', named };
    }
    return resolved({ url: check.repository.url, baseBranch: task.base_branch ?? 'main', resolvedBy: namedBy(task) });
  }

  const byKey = (
    keys: Array<string | undefined>,
    selector: 'jira_projects' | 'datadog_services' | 'sonar_projects',
    resolvedBy: ResolvedBy,
  ): Resolution => {
    for (const key of keys) {
      if (!key) continue;
      const entry = config.repositories.find((e) => e[selector].includes(key));
      if (entry)
        return resolved({ url: entry.url, baseBranch: task.base_branch ?? entry.base_branch, entry, resolvedBy });
    }
    return { kind: 'none' };
  };

  switch (task.source) {
    case 'jira':
      return byKey(jiraProjects(task), 'jira_projects', 'jira-project');
    case 'datadog':
      // The ingester joins a repeated tag's values with commas (service:a, service:b → "a,b").
      return byKey(
        [...(task.labels?.service?.split(',') ?? []), datadogTags(task).get('service')],
        'datadog_services',
        'datadog-service',
      );
    case 'sonarcloud':
      return byKey(sonarProjects(task), 'sonar_projects', 'sonar-project');
  }
}

const resolved = (repository: ResolvedRepository): Resolution => ({ kind: 'resolved', repository });

const namedBy = (task: AgentTask): ResolvedBy => (task.repository !== undefined ? 'task' : 'datadog-repository-tag');

function jiraProjects(task: AgentTask): Array<string | undefined> {
  const fromKey = /^([A-Z][A-Z0-9_]*)-\d+$/.exec(task.external_id)?.[1];
  return [
    task.labels?.project,
    task.labels?.['jira.project'],
    stringAt(task.raw_payload, ['issue', 'fields', 'project', 'key']),
    fromKey,
  ];
}

function sonarProjects(task: AgentTask): Array<string | undefined> {
  return [
    task.labels?.project,
    task.labels?.['sonar.project'],
    stringAt(task.raw_payload, ['project', 'key']),
    task.external_id,
  ];
}

/** Datadog tags from the payload (`tags` as "k:v,k:v" or a list), for payloads the ingester did not label. */
function datadogTags(task: AgentTask): Map<string, string> {
  const tags = new Map<string, string>();
  if (task.source !== 'datadog') return tags;
  const raw = task.raw_payload.tags;
  const list = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : [];
  for (const tag of list) {
    if (typeof tag !== 'string') continue;
    const colon = tag.indexOf(':');
    if (colon > 0) tags.set(tag.slice(0, colon).trim(), tag.slice(colon + 1).trim());
  }
  return tags;
}

function stringAt(value: unknown, path: string[]): string | undefined {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return typeof current === 'string' ? current : undefined;
}

/** Two spellings of one repository on the git host (`.git` or not, any case): the same key. */
export function sameRepository(a: string, b: string, config: Pick<RoutingConfig, 'gitOrigin'>): boolean {
  const left = namedRepository(a, config.gitOrigin);
  const right = namedRepository(b, config.gitOrigin);
  return left.ok && right.ok && left.repository.key === right.repository.key;
}
