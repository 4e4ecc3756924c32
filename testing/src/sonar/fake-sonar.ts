import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { FakeHttpServer, type RecordedRequest, sendJson } from '../fake-http-server.ts';

export const SONAR_SEVERITIES = ['BLOCKER', 'CRITICAL', 'MAJOR', 'MINOR', 'INFO'] as const;
export type SonarSeverity = (typeof SONAR_SEVERITIES)[number];

/** Which analysis a finding belongs to: the main branch (`undefined`), a branch, or a pull request by key. */
export interface SonarAnalysisRef {
  branch?: string;
  pullRequest?: string;
}

export interface FakeSonarIssue extends SonarAnalysisRef {
  rule: string;
  severity: SonarSeverity;
  type: 'BUG' | 'VULNERABILITY' | 'CODE_SMELL';
  /** Path inside the project; the component key is `<project>:<path>`. */
  path: string;
  line?: number;
  textRange?: { startLine: number; endLine: number; startOffset: number; endOffset: number };
  message: string;
  /** On new code (the new code period, or a pull request's changes). */
  newCode?: boolean;
  status?: 'OPEN' | 'CONFIRMED' | 'REOPENED' | 'RESOLVED' | 'CLOSED';
}

export interface FakeSonarHotspot extends SonarAnalysisRef {
  ruleKey: string;
  path: string;
  line?: number;
  message: string;
  securityCategory: string;
  vulnerabilityProbability: 'HIGH' | 'MEDIUM' | 'LOW';
  newCode?: boolean;
  status?: 'TO_REVIEW' | 'REVIEWED';
}

export interface FakeSonarFileCoverage extends SonarAnalysisRef {
  path: string;
  uncoveredLines: number;
  newUncoveredLines?: number;
}

export interface FakeSonarPullRequest {
  key: string;
  title: string;
  branch: string;
  base: string;
}

interface Project {
  key: string;
  mainBranch: string;
  branches: Set<string>;
  issues: Array<FakeSonarIssue & { key: string }>;
  hotspots: Array<FakeSonarHotspot & { key: string }>;
  coverage: FakeSonarFileCoverage[];
  pullRequests: FakeSonarPullRequest[];
}

/** The Web API's paging rules: `ps` at most 500, and no result beyond the 10,000th. */
const MAX_PAGE_SIZE = 500;
const MAX_RESULTS = 10_000;

class SonarApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The SonarCloud / SonarQube Web API calls enrichment makes: `api/issues/search`,
 * `api/rules/show`, `api/hotspots/search`, `api/measures/component_tree`,
 * `api/project_pull_requests/list`. A user token as `Authorization: Bearer` (or Basic with the
 * token as user and an empty password), else 401 with an empty body, as Sonar answers. Errors
 * in Sonar's `{"errors":[{"msg":…}]}` shape: 400 for bad paging or parameters, 404 for an unknown
 * project, branch, pull request or rule. Findings are added per project and analysis.
 */
export class FakeSonar extends FakeHttpServer {
  #token = '';
  #projects = new Map<string, Project>();
  #rules = new Map<string, { name: string; lang: string }>();
  #ids = 0;

  static async start(options: { token?: string } = {}): Promise<FakeSonar> {
    const fake = new FakeSonar();
    fake.#token = options.token ?? `squ_${randomBytes(20).toString('hex')}`;
    fake.notFound = (req, res) =>
      fake.#answer(req, res, () => {
        throw new SonarApiError(404, `Unknown url : ${req.path}`);
      });
    fake.#get('/api/issues/search', (req) => fake.#issues(req));
    fake.#get('/api/rules/show', (req) => fake.#rule(req));
    fake.#get('/api/hotspots/search', (req) => fake.#hotspots(req));
    fake.#get('/api/measures/component_tree', (req) => fake.#componentTree(req));
    fake.#get('/api/project_pull_requests/list', (req) => ({
      pullRequests: fake.#project(req.query.get('project')).pullRequests.map((pr) => ({
        ...pr,
        status: { qualityGateStatus: 'ERROR', bugs: 0, vulnerabilities: 0, codeSmells: 0 },
        analysisDate: '2026-01-01T10:00:00+0000',
      })),
    }));
    return fake.listen();
  }

  get token(): string {
    return this.#token;
  }

  addProject(key: string, options: { mainBranch?: string; branches?: string[] } = {}): this {
    const mainBranch = options.mainBranch ?? 'main';
    this.#projects.set(key, {
      key,
      mainBranch,
      branches: new Set([mainBranch, ...(options.branches ?? [])]),
      issues: [],
      hotspots: [],
      coverage: [],
      pullRequests: [],
    });
    return this;
  }

  addRule(key: string, name: string, lang = key.split(':')[0] ?? 'java'): this {
    this.#rules.set(key, { name, lang });
    return this;
  }

  addIssue(project: string, issue: FakeSonarIssue): this {
    this.#known(project).issues.push({ ...issue, key: this.#nextKey() });
    return this;
  }

  addHotspot(project: string, hotspot: FakeSonarHotspot): this {
    this.#known(project).hotspots.push({ ...hotspot, key: this.#nextKey() });
    return this;
  }

  addCoverage(project: string, file: FakeSonarFileCoverage): this {
    this.#known(project).coverage.push(file);
    return this;
  }

  addPullRequest(project: string, pr: FakeSonarPullRequest): this {
    this.#known(project).pullRequests.push(pr);
    return this;
  }

  /** The next `times` requests are rate limited: 429 with `Retry-After`. */
  rateLimited(retryAfterSeconds = 1, times = 1): this {
    return this.inject(
      {
        kind: 'status',
        status: 429,
        headers: { 'retry-after': String(retryAfterSeconds) },
        body: { errors: [{ msg: 'Too many requests' }] },
      },
      { times },
    );
  }

  #nextKey(): string {
    this.#ids += 1;
    return `AY${String(this.#ids).padStart(18, '0')}`;
  }

  #known(key: string): Project {
    const project = this.#projects.get(key);
    if (!project) throw new Error(`FakeSonar: unknown project ${key}; call addProject first`);
    return project;
  }

  #get(path: string, handle: (req: RecordedRequest) => unknown): void {
    this.route('GET', path, (req, res) => this.#answer(req, res, () => handle(req)));
  }

  #answer(req: RecordedRequest, res: ServerResponse, handle: () => unknown): void {
    if (!this.#authenticated(req.headers)) {
      res.writeHead(401, { 'content-length': '0' }).end();
      return;
    }
    try {
      sendJson(res, 200, handle());
    } catch (err) {
      if (!(err instanceof SonarApiError)) throw err;
      sendJson(res, err.status, { errors: [{ msg: err.message }] });
    }
  }

  #authenticated(headers: IncomingHttpHeaders): boolean {
    const [scheme = '', value = ''] = (headers.authorization ?? '').trim().split(/\s+/, 2);
    if (/^bearer$/i.test(scheme)) return sameSecret(value, this.#token);
    if (/^basic$/i.test(scheme)) return sameSecret(Buffer.from(value, 'base64').toString('utf8'), `${this.#token}:`);
    return false;
  }

  #project(key: string | null, parameter = 'project'): Project {
    if (!key) throw new SonarApiError(400, `The '${parameter}' parameter is missing`);
    const project = this.#projects.get(key);
    if (!project) throw new SonarApiError(404, `Component key '${key}' not found`);
    return project;
  }

  /** The analysis the request names, checked to exist, as a predicate over findings. */
  #analysis(req: RecordedRequest, project: Project): (item: SonarAnalysisRef) => boolean {
    const branch = req.query.get('branch');
    const pullRequest = req.query.get('pullRequest');
    if (branch !== null && pullRequest !== null) {
      throw new SonarApiError(400, "Only one of parameters 'branch' and 'pullRequest' can be provided");
    }
    if (pullRequest !== null) {
      if (!project.pullRequests.some((pr) => pr.key === pullRequest)) {
        throw new SonarApiError(404, `Component '${project.key}' of pull request '${pullRequest}' not found`);
      }
      return (item) => item.pullRequest === pullRequest;
    }
    const wanted = branch ?? project.mainBranch;
    if (!project.branches.has(wanted)) {
      throw new SonarApiError(404, `Component '${project.key}' on branch '${wanted}' not found`);
    }
    return (item) => item.pullRequest === undefined && (item.branch ?? project.mainBranch) === wanted;
  }

  #paging(req: RecordedRequest, defaultSize = 100): { page: number; size: number } {
    const page = Number(req.query.get('p') ?? '1');
    const size = Number(req.query.get('ps') ?? String(defaultSize));
    if (!Number.isInteger(page) || page < 1)
      throw new SonarApiError(400, `'p' value (${req.query.get('p')}) must be a positive integer`);
    if (!Number.isInteger(size) || size < 1)
      throw new SonarApiError(400, `'ps' value (${req.query.get('ps')}) must be a positive integer`);
    if (size > MAX_PAGE_SIZE) throw new SonarApiError(400, `'ps' value (${size}) must be less than ${MAX_PAGE_SIZE}`);
    if (page * size > MAX_RESULTS) {
      throw new SonarApiError(400, `Can return only the first ${MAX_RESULTS} results. ${page * size}th result asked.`);
    }
    return { page, size };
  }

  #issues(req: RecordedRequest): unknown {
    const project = this.#project(req.query.get('componentKeys'), 'componentKeys');
    const inAnalysis = this.#analysis(req, project);
    const { page, size } = this.#paging(req);
    const resolved = req.query.get('resolved');
    const newOnly = req.query.get('inNewCodePeriod') === 'true';
    let matching = project.issues.filter(
      (i) =>
        inAnalysis(i) &&
        (!newOnly || i.newCode === true) &&
        (resolved === null || (resolved === 'true') === ['RESOLVED', 'CLOSED'].includes(i.status ?? 'OPEN')),
    );
    const sort = req.query.get('s');
    if (sort === 'SEVERITY') {
      const rank = (i: FakeSonarIssue) => SONAR_SEVERITIES.indexOf(i.severity);
      const descending = req.query.get('asc') === 'false';
      matching = [...matching].sort((a, b) => (descending ? rank(a) - rank(b) : rank(b) - rank(a)));
    } else if (
      sort !== null &&
      !['CREATION_DATE', 'UPDATE_DATE', 'CLOSE_DATE', 'ASSIGNEE', 'STATUS', 'FILE_LINE'].includes(sort)
    ) {
      throw new SonarApiError(
        400,
        `Value of parameter 's' (${sort}) must be one of: [CREATION_DATE, UPDATE_DATE, CLOSE_DATE, ASSIGNEE, SEVERITY, STATUS, FILE_LINE]`,
      );
    }
    const slice = matching.slice((page - 1) * size, page * size);
    const component = (path: string) => `${project.key}:${path}`;
    return {
      total: matching.length,
      p: page,
      ps: size,
      paging: { pageIndex: page, pageSize: size, total: matching.length },
      effortTotal: 0,
      issues: slice.map((i) => ({
        key: i.key,
        rule: i.rule,
        severity: i.severity,
        component: component(i.path),
        project: project.key,
        ...(i.line !== undefined && { line: i.line }),
        ...(i.textRange && { textRange: i.textRange }),
        flows: [],
        status: i.status ?? 'OPEN',
        message: i.message,
        type: i.type,
        tags: [],
        creationDate: '2026-01-01T10:00:00+0000',
        ...(i.branch !== undefined && { branch: i.branch }),
        ...(i.pullRequest !== undefined && { pullRequest: i.pullRequest }),
      })),
      components: [
        { key: project.key, qualifier: 'TRK', name: project.key, enabled: true },
        ...[...new Set(slice.map((i) => i.path))].map((path) => ({
          key: component(path),
          qualifier: 'FIL',
          name: path.split('/').pop(),
          longName: path,
          path,
          enabled: true,
        })),
      ],
      facets: [],
    };
  }

  #rule(req: RecordedRequest): unknown {
    const key = req.query.get('key');
    if (!key) throw new SonarApiError(400, "The 'key' parameter is missing");
    const rule = this.#rules.get(key);
    if (!rule) throw new SonarApiError(404, `Rule not found: ${key}`);
    return {
      rule: { key, repo: key.split(':')[0], name: rule.name, lang: rule.lang, status: 'READY', type: 'BUG' },
      actives: [],
    };
  }

  #hotspots(req: RecordedRequest): unknown {
    const project = this.#project(req.query.get('projectKey'), 'projectKey');
    const inAnalysis = this.#analysis(req, project);
    const { page, size } = this.#paging(req);
    const status = req.query.get('status');
    const newOnly = req.query.get('inNewCodePeriod') === 'true';
    const matching = project.hotspots.filter(
      (h) =>
        inAnalysis(h) && (!newOnly || h.newCode === true) && (status === null || (h.status ?? 'TO_REVIEW') === status),
    );
    const slice = matching.slice((page - 1) * size, page * size);
    return {
      paging: { pageIndex: page, pageSize: size, total: matching.length },
      hotspots: slice.map((h) => ({
        key: h.key,
        component: `${project.key}:${h.path}`,
        project: project.key,
        securityCategory: h.securityCategory,
        vulnerabilityProbability: h.vulnerabilityProbability,
        status: h.status ?? 'TO_REVIEW',
        ...(h.line !== undefined && { line: h.line }),
        message: h.message,
        ruleKey: h.ruleKey,
      })),
      components: [...new Set(slice.map((h) => h.path))].map((path) => ({
        key: `${project.key}:${path}`,
        qualifier: 'FIL',
        name: path.split('/').pop(),
        longName: path,
        path,
      })),
    };
  }

  #componentTree(req: RecordedRequest): unknown {
    const project = this.#project(req.query.get('component'), 'component');
    const inAnalysis = this.#analysis(req, project);
    const { page, size } = this.#paging(req);
    const metrics = (req.query.get('metricKeys') ?? '').split(',').filter(Boolean);
    if (metrics.length === 0) throw new SonarApiError(400, "The 'metricKeys' parameter is missing");
    const known = ['uncovered_lines', 'new_uncovered_lines'];
    const unknown = metrics.filter((m) => !known.includes(m));
    if (unknown.length > 0)
      throw new SonarApiError(404, `The following metric keys are not found: ${unknown.join(', ')}`);
    const sortMetric = req.query.get('metricSort');
    const value = (f: FakeSonarFileCoverage, metric: string) =>
      metric === 'new_uncovered_lines' ? (f.newUncoveredLines ?? 0) : f.uncoveredLines;
    let files = project.coverage.filter(inAnalysis);
    if (req.query.get('metricSortFilter') === 'withMeasuresOnly' && sortMetric) {
      files = files.filter((f) => (sortMetric === 'new_uncovered_lines' ? f.newUncoveredLines !== undefined : true));
    }
    if (sortMetric) {
      const descending = req.query.get('asc') === 'false';
      files = [...files].sort((a, b) => (descending ? -1 : 1) * (value(a, sortMetric) - value(b, sortMetric)));
    }
    const slice = files.slice((page - 1) * size, page * size);
    return {
      paging: { pageIndex: page, pageSize: size, total: files.length },
      baseComponent: { key: project.key, qualifier: 'TRK', measures: [] },
      components: slice.map((f) => ({
        key: `${project.key}:${f.path}`,
        name: f.path.split('/').pop(),
        qualifier: 'FIL',
        path: f.path,
        // New-code metrics carry their value in `period`, overall metrics in `value`.
        measures: metrics.map((metric) =>
          metric.startsWith('new_')
            ? { metric, period: { index: 1, value: String(value(f, metric)), bestValue: value(f, metric) === 0 } }
            : { metric, value: String(value(f, metric)), bestValue: value(f, metric) === 0 },
        ),
      })),
    };
  }
}
