import type { AgentTask } from '@anton/contracts';
import { z } from 'zod';
import type { Enricher, Enrichment } from '../enricher.ts';
import { type AnalysisRef, httpSonarApi, type SonarApi, type SonarHotspot, type SonarIssue } from './sonar-api.ts';

export interface SonarEnricherConfig {
  baseUrl: string;
  token: string;
  /** Open issues fetched per task at most. */
  issueLimit: number;
}

/** The webhook fields read here (the ingester validated the whole payload already). */
const Analysis = z.looseObject({
  revision: z.string().optional(),
  project: z.looseObject({ key: z.string().min(1) }),
  branch: z.looseObject({ name: z.string().min(1), type: z.string().optional() }).optional(),
  qualityGate: z
    .looseObject({ conditions: z.array(z.looseObject({ metric: z.string(), status: z.string() })).default([]) })
    .optional(),
});

const FAILING = new Set(['ERROR', 'WARN']);
const MAX_PAGE = 500;
const HOTSPOT_LIMIT = 20;
const UNCOVERED_FILES = 10;

const isHotspotMetric = (metric: string) => /security_hotspots|security_review_rating/.test(metric);
const isCoverageMetric = (metric: string) => /coverage|uncovered/.test(metric);
const isDuplicationMetric = (metric: string) => /duplicat/.test(metric);

/**
 * For a failed gate: the open issues it is about (rule, file, line, message), the hotspots to
 * review when a hotspot condition failed, the files with the most uncovered lines when a coverage
 * condition did, and for a pull-request analysis the PR's head branch (what was analysed).
 */
export function sonarEnricher(config: SonarEnricherConfig, api: SonarApi = httpSonarApi(config)): Enricher {
  const ruleNames = new Map<string, string>();
  const ruleName = async (issue: SonarIssue, signal: AbortSignal): Promise<string | undefined> => {
    const cached = ruleNames.get(issue.rule);
    if (cached !== undefined) return cached;
    try {
      const name = await api.ruleName(issue.rule, issue.organization, signal);
      ruleNames.set(issue.rule, name);
      return name;
    } catch {
      return undefined; // a rule without its name is still a finding
    }
  };

  return {
    source: 'sonarcloud',
    heading: 'SonarCloud findings',
    async enrich(task: AgentTask, signal: AbortSignal): Promise<Enrichment | undefined> {
      const parsed = Analysis.safeParse(task.raw_payload);
      if (!parsed.success) return undefined;
      const { project, branch, revision, qualityGate } = parsed.data;
      const failing = (qualityGate?.conditions ?? []).filter((c) => FAILING.has(c.status)).map((c) => c.metric);
      if (failing.length === 0) return undefined;
      const isPullRequest = branch?.type === 'PULL_REQUEST';
      const ref: AnalysisRef = branch ? (isPullRequest ? { pullRequest: branch.name } : { branch: branch.name }) : {};
      // Only when every failing condition is about new code are older issues beside the point.
      const newCodeOnly = failing.every((metric) => metric.startsWith('new_'));
      const sections: string[] = [];
      const query = { project: project.key, ref, newCodeOnly };
      const parts: Array<() => Promise<string>> = [];
      if (failing.some((m) => !isHotspotMetric(m) && !isCoverageMetric(m) && !isDuplicationMetric(m))) {
        parts.push(() => issuesSection(api, query, config.issueLimit, ruleName, signal));
      }
      if (failing.some(isHotspotMetric)) parts.push(() => hotspotsSection(api, query, signal));
      const coverage = failing.filter(isCoverageMetric);
      if (coverage.length > 0) {
        const metric = coverage.some((m) => m.startsWith('new_')) ? 'new_uncovered_lines' : 'uncovered_lines';
        parts.push(() => coverageSection(api, { project: project.key, ref, metric }, signal));
      }
      const [head, ...found] = await Promise.allSettled([
        isPullRequest && branch
          ? api
              .pullRequests(project.key, signal)
              .then((l) => l.pullRequests.find((pr) => pr.key === branch.name)?.branch)
          : Promise.resolve(undefined),
        ...parts.map((part) => part()),
      ]);
      // One part failing (a token without hotspot rights, say) leaves the others; all failing is the source failing.
      const failures = found.filter((r) => r.status === 'rejected');
      if (found.length > 0 && failures.length === found.length) throw failures[0]?.reason;
      const headBranch = head?.status === 'fulfilled' ? head.value : undefined;
      sections.push(
        `Analysed: project ${project.key}, ${
          isPullRequest
            ? `pull request ${branch?.name}${headBranch ? ` (head branch ${headBranch})` : ''}`
            : branch
              ? `branch ${branch.name}`
              : 'main branch'
        }${revision ? `, revision ${revision}` : ''}. Conditions failing: ${failing.join(', ')}.`,
      );
      for (const result of found) {
        sections.push(
          result.status === 'fulfilled'
            ? result.value
            : `(part of the findings not fetched: ${String(result.reason?.message ?? result.reason)})`,
        );
      }

      return { text: sections.join('\n\n'), ...(headBranch !== undefined && { baseBranch: headBranch }) };
    },
  };
}

type RuleName = (issue: SonarIssue, signal: AbortSignal) => Promise<string | undefined>;
type Query = { project: string; ref: AnalysisRef; newCodeOnly: boolean };

async function issuesSection(api: SonarApi, query: Query, limit: number, ruleName: RuleName, signal: AbortSignal) {
  const { issues, paths, total } = await collectIssues(api, query, limit, signal);
  const lines = [
    `Open issues${query.newCodeOnly ? ' on new code' : ''} (${issues.length} of ${total}, most severe first):`,
  ];
  // One lookup per distinct rule, side by side: fifty issues are often a handful of rules.
  const distinct = [...new Map(issues.map((issue) => [issue.rule, issue])).values()];
  const names = new Map(
    await Promise.all(distinct.map(async (issue) => [issue.rule, await ruleName(issue, signal)] as const)),
  );
  for (const [index, issue] of issues.entries())
    lines.push(formatIssue(index + 1, issue, names.get(issue.rule), paths));
  if (issues.length === 0) lines.push('(none open)');
  return lines.join('\n');
}

async function hotspotsSection(api: SonarApi, query: Query, signal: AbortSignal): Promise<string> {
  const page = await api.searchHotspots({ ...query, page: 1, pageSize: HOTSPOT_LIMIT }, signal);
  const paths = componentPaths(page.components);
  return [
    `Security hotspots to review (${page.hotspots.length} of ${page.paging.total}):`,
    ...page.hotspots.map((h) => formatHotspot(h, paths)),
  ].join('\n');
}

async function coverageSection(
  api: SonarApi,
  query: { project: string; ref: AnalysisRef; metric: 'new_uncovered_lines' | 'uncovered_lines' },
  signal: AbortSignal,
): Promise<string> {
  const tree = await api.uncoveredFiles({ ...query, pageSize: UNCOVERED_FILES }, signal);
  const rows = tree.components
    .map((c) => ({ path: c.path ?? fileOf(c.key), count: measureValue(c.measures, query.metric) }))
    .filter((row) => row.count > 0);
  return [
    `Files with the most ${query.metric === 'new_uncovered_lines' ? 'uncovered new lines' : 'uncovered lines'}:`,
    ...rows.map((row) => `- ${row.path}: ${row.count}`),
  ].join('\n');
}

async function collectIssues(
  api: SonarApi,
  query: { project: string; ref: AnalysisRef; newCodeOnly: boolean },
  limit: number,
  signal: AbortSignal,
): Promise<{ issues: SonarIssue[]; paths: Map<string, string>; total: number }> {
  const pageSize = Math.min(limit, MAX_PAGE);
  const issues: SonarIssue[] = [];
  const paths = new Map<string, string>();
  let total = 0;
  for (let page = 1; issues.length < limit; page++) {
    const answer = await api.searchIssues({ ...query, page, pageSize }, signal);
    total = answer.paging.total;
    for (const [key, path] of componentPaths(answer.components)) paths.set(key, path);
    issues.push(...answer.issues.slice(0, limit - issues.length));
    if (answer.issues.length === 0 || page * pageSize >= total) break;
  }
  return { issues, paths, total };
}

function componentPaths(components: ReadonlyArray<{ key: string; path?: string | undefined }>): Map<string, string> {
  return new Map(components.flatMap((c) => (c.path ? [[c.key, c.path] as [string, string]] : [])));
}

/** A component key is `<project>:<path>`; the path is what the coder opens. */
function fileOf(component: string): string {
  const colon = component.indexOf(':');
  return colon < 0 ? component : component.slice(colon + 1);
}

function formatIssue(n: number, issue: SonarIssue, name: string | undefined, paths: Map<string, string>): string {
  const file = paths.get(issue.component) ?? fileOf(issue.component);
  const range = issue.textRange;
  const where = range
    ? `${file}:${range.startLine}${range.endLine !== range.startLine ? `-${range.endLine}` : ''}${
        range.startOffset !== undefined ? ` (columns ${range.startOffset}-${range.endOffset ?? '?'})` : ''
      }`
    : issue.line !== undefined
      ? `${file}:${issue.line}`
      : `${file} (whole file)`;
  const kind = [issue.severity, issue.type].filter(Boolean).join(' ');
  return `${n}. [${kind || 'issue'}] ${issue.rule}${name ? ` "${name}"` : ''}\n   ${where}\n   ${issue.message}`;
}

function formatHotspot(hotspot: SonarHotspot, paths: Map<string, string>): string {
  const file = paths.get(hotspot.component) ?? fileOf(hotspot.component);
  const kind = [hotspot.vulnerabilityProbability, hotspot.securityCategory].filter(Boolean).join(' ');
  return `- [${kind || 'hotspot'}] ${hotspot.ruleKey ?? ''} ${file}${hotspot.line !== undefined ? `:${hotspot.line}` : ''}: ${hotspot.message}`;
}

function measureValue(
  measures: ReadonlyArray<{
    metric: string;
    value?: string | undefined;
    period?: { value?: string | undefined } | undefined;
    periods?: ReadonlyArray<{ value?: string | undefined }> | undefined;
  }>,
  metric: string,
): number {
  const measure = measures.find((m) => m.metric === metric);
  const raw = measure?.value ?? measure?.period?.value ?? measure?.periods?.[0]?.value;
  const value = Number(raw);
  return Number.isFinite(value) ? value : 0;
}
