import { z } from 'zod';
import { apiUrl, callJson } from '../http-json.ts';

/** The Web API's `paging` object: 1-based page index, page size, total matches. */
const Paging = z.looseObject({ pageIndex: z.number(), pageSize: z.number(), total: z.number() });

const TextRange = z.looseObject({
  startLine: z.number(),
  endLine: z.number(),
  startOffset: z.number().optional(),
  endOffset: z.number().optional(),
});

export const SonarIssue = z.looseObject({
  key: z.string(),
  rule: z.string(),
  severity: z.string().optional(),
  type: z.string().optional(),
  component: z.string(),
  line: z.number().optional(),
  textRange: TextRange.optional(),
  message: z.string().default(''),
  organization: z.string().optional(),
});
export type SonarIssue = z.infer<typeof SonarIssue>;

const Component = z.looseObject({ key: z.string(), path: z.string().optional() });

/** `GET /api/issues/search` */
export const IssuesPage = z.looseObject({
  paging: Paging,
  issues: z.array(SonarIssue),
  components: z.array(Component).default([]),
});
export type IssuesPage = z.infer<typeof IssuesPage>;

/** `GET /api/rules/show` */
export const RuleShow = z.looseObject({ rule: z.looseObject({ key: z.string(), name: z.string() }) });

export const SonarHotspot = z.looseObject({
  key: z.string(),
  component: z.string(),
  ruleKey: z.string().optional(),
  securityCategory: z.string().optional(),
  vulnerabilityProbability: z.string().optional(),
  line: z.number().optional(),
  message: z.string().default(''),
});
export type SonarHotspot = z.infer<typeof SonarHotspot>;

/** `GET /api/hotspots/search` */
export const HotspotsPage = z.looseObject({
  paging: Paging,
  hotspots: z.array(SonarHotspot),
  components: z.array(Component).default([]),
});
export type HotspotsPage = z.infer<typeof HotspotsPage>;

/** A measure: `value` for overall metrics; new-code metrics in `period` (newer servers) or `periods` (older). */
const Measure = z.looseObject({
  metric: z.string(),
  value: z.string().optional(),
  period: z.looseObject({ value: z.string().optional() }).optional(),
  periods: z.array(z.looseObject({ index: z.number().optional(), value: z.string().optional() })).optional(),
});

/** `GET /api/measures/component_tree` */
export const ComponentTree = z.looseObject({
  paging: Paging,
  components: z.array(
    z.looseObject({ key: z.string(), path: z.string().optional(), measures: z.array(Measure).default([]) }),
  ),
});
export type ComponentTree = z.infer<typeof ComponentTree>;

/** `GET /api/project_pull_requests/list` */
export const PullRequestList = z.looseObject({
  pullRequests: z.array(z.looseObject({ key: z.string(), branch: z.string().optional(), base: z.string().optional() })),
});
export type PullRequestList = z.infer<typeof PullRequestList>;

/** Which analysis: a branch, or a pull request by its key. */
export type AnalysisRef = { branch: string } | { pullRequest: string } | Record<string, never>;

export interface IssuesQuery {
  project: string;
  ref: AnalysisRef;
  newCodeOnly: boolean;
  page: number;
  pageSize: number;
}

/** The few Sonar Web API calls enrichment makes; the real one is `httpSonarApi`, tests use the fake server. */
export interface SonarApi {
  searchIssues(query: IssuesQuery, signal: AbortSignal): Promise<IssuesPage>;
  ruleName(key: string, organization: string | undefined, signal: AbortSignal): Promise<string>;
  searchHotspots(query: IssuesQuery, signal: AbortSignal): Promise<HotspotsPage>;
  uncoveredFiles(
    query: { project: string; ref: AnalysisRef; metric: 'new_uncovered_lines' | 'uncovered_lines'; pageSize: number },
    signal: AbortSignal,
  ): Promise<ComponentTree>;
  pullRequests(project: string, signal: AbortSignal): Promise<PullRequestList>;
}

export interface SonarApiConfig {
  baseUrl: string;
  token: string;
}

/** SonarCloud and SonarQube both take a user token as `Authorization: Bearer`. */
export function httpSonarApi({ baseUrl, token }: SonarApiConfig): SonarApi {
  const headers = { authorization: `Bearer ${token}` };
  const get = <T>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    schema: z.ZodType<T>,
    signal: AbortSignal,
  ) => callJson({ url: apiUrl(baseUrl, path, query), headers, schema, signal, what: `sonar ${path}` });
  return {
    searchIssues: (q, signal) =>
      get(
        '/api/issues/search',
        {
          componentKeys: q.project,
          ...q.ref,
          resolved: false,
          ...(q.newCodeOnly && { inNewCodePeriod: true }),
          s: 'SEVERITY',
          asc: false,
          p: q.page,
          ps: q.pageSize,
        },
        IssuesPage,
        signal,
      ),
    ruleName: async (key, organization, signal) =>
      (await get('/api/rules/show', { key, organization }, RuleShow, signal)).rule.name,
    searchHotspots: (q, signal) =>
      get(
        '/api/hotspots/search',
        {
          projectKey: q.project,
          ...q.ref,
          status: 'TO_REVIEW',
          ...(q.newCodeOnly && { inNewCodePeriod: true }),
          p: q.page,
          ps: q.pageSize,
        },
        HotspotsPage,
        signal,
      ),
    uncoveredFiles: ({ project, ref, metric, pageSize }, signal) =>
      get(
        '/api/measures/component_tree',
        {
          component: project,
          ...ref,
          metricKeys: metric,
          qualifiers: 'FIL',
          strategy: 'leaves',
          s: metric.startsWith('new_') ? 'metricPeriod' : 'metric',
          metricSort: metric,
          ...(metric.startsWith('new_') && { metricPeriodSort: 1 }),
          metricSortFilter: 'withMeasuresOnly',
          asc: false,
          ps: pageSize,
        },
        ComponentTree,
        signal,
      ),
    pullRequests: (project, signal) => get('/api/project_pull_requests/list', { project }, PullRequestList, signal),
  };
}
