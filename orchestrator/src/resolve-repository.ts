import type { AgentTask } from '@anton/contracts';
import { httpsRepository } from './repository-url.ts';
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

/**
 * Which repository a task is about, in its https form (what the runner's proxy reaches): a repository named by the task (the payload, or Datadog's
 * `git.repository_url` tag) wins; otherwise the routing map by JIRA project, Datadog service or Sonar
 * project key. The task's own base branch (what Sonar analysed) wins over the entry's.
 * `undefined` means the task cannot be dispatched.
 */
export function resolveRepository(task: AgentTask, config: RoutingConfig): ResolvedRepository | undefined {
  const named: Array<[string | undefined, ResolvedBy]> = [
    [task.repository, 'task'],
    [task.labels?.[DATADOG_REPOSITORY_TAG] ?? datadogTags(task).get(DATADOG_REPOSITORY_TAG), 'datadog-repository-tag'],
  ];
  for (const [candidate, resolvedBy] of named) {
    // A named repository that is not a usable URL is ignored, not trusted: the map may still know.
    const url = candidate === undefined ? undefined : httpsRepository(candidate);
    if (url === undefined) continue;
    const entry = config.repositories.find((e) => sameRepository(e.url, url));
    return { url, baseBranch: task.base_branch ?? entry?.base_branch ?? 'main', ...(entry && { entry }), resolvedBy };
  }

  const byKey = (
    keys: Array<string | undefined>,
    selector: 'jira_projects' | 'datadog_services' | 'sonar_projects',
    resolvedBy: ResolvedBy,
  ): ResolvedRepository | undefined => {
    for (const key of keys) {
      if (!key) continue;
      const entry = config.repositories.find((e) => e[selector].includes(key));
      const url = entry && httpsRepository(entry.url);
      if (entry && url) return { url, baseBranch: task.base_branch ?? entry.base_branch, entry, resolvedBy };
    }
    return undefined;
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

/** `https://github.com/acme/x.git`, `https://github.com/acme/x` and `git@github.com:acme/x.git` are one repository. */
export function sameRepository(a: string, b: string): boolean {
  return canonical(a) === canonical(b);
}

function canonical(url: string): string {
  const scp = /^[\w.-]+@([\w.-]+):(.+)$/.exec(url);
  const hostAndPath = scp ? `${scp[1]}/${scp[2]}` : url.replace(/^[a-z+]+:\/\/(?:[^@/]+@)?/i, '');
  const slash = hostAndPath.indexOf('/');
  const host = slash < 0 ? hostAndPath : hostAndPath.slice(0, slash);
  const path = slash < 0 ? '' : hostAndPath.slice(slash);
  return `${host.toLowerCase()}${path.replace(/\/+$/, '').replace(/\.git$/, '')}`;
}
