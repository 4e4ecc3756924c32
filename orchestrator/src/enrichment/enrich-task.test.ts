import { Writable } from 'node:stream';
import { FakeSonar, freePort } from '@anton/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTask } from '../../test/tasks.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import { createEnrichment } from './enrich-task.ts';
import type { Enricher } from './enricher.ts';
import { enrichersFromConfig } from './registry.ts';
import { sonarEnricher } from './sonar/sonar-enricher.ts';
import { cutMiddle } from './text-budget.ts';

let sonar: FakeSonar;
const TOKEN = 'squ_0123456789abcdef0123456789abcdef01234567';

const gateTask = () =>
  makeTask({
    source: 'sonarcloud',
    external_id: 'acme_orders@main',
    description: 'Quality gate "Sonar way" is ERROR on project acme_orders, branch main.',
    raw_payload: {
      project: { key: 'acme_orders' },
      branch: { name: 'main', type: 'BRANCH' },
      qualityGate: { status: 'ERROR', conditions: [{ metric: 'new_violations', status: 'ERROR' }] },
    },
  });

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

async function count(metrics: Metrics, labels: { source: string; result: string }): Promise<number> {
  const metric = await metrics.enrichment.get();
  return metric.values.find((v) => v.labels.source === labels.source && v.labels.result === labels.result)?.value ?? 0;
}

beforeAll(async () => {
  sonar = await FakeSonar.start({ token: TOKEN });
  sonar.addProject('acme_orders').addRule('java:S2259', 'Null pointers should not be dereferenced');
  sonar.addIssue('acme_orders', {
    rule: 'java:S2259',
    severity: 'MAJOR',
    type: 'BUG',
    path: 'src/main/java/acme/OrderService.java',
    line: 42,
    message: '"discount" is nullable here.',
    newCode: true,
  });
});
afterAll(() => sonar.close());

const settings = { timeoutMs: 2_000, maxChars: 12_000 };

describe('the enrichment step', () => {
  it('appends the findings to the description under a heading, and counts it', async () => {
    const metrics = createMetrics();
    const enrich = createEnrichment(
      [sonarEnricher({ baseUrl: sonar.url, token: TOKEN, issueLimit: 50 })],
      settings,
      metrics,
    );
    const task = gateTask();
    const enriched = await enrich(task, pino({ level: 'silent' }));
    expect(enriched.description).toMatch(
      /^Quality gate "Sonar way" is ERROR.*\n\n## SonarCloud findings \(fetched by anton from the source's API\)\n/s,
    );
    expect(enriched.description).toContain('src/main/java/acme/OrderService.java:42');
    expect(enriched.task_id).toBe(task.task_id);
    expect(await count(metrics, { source: 'sonarcloud', result: 'enriched' })).toBe(1);
  });

  it.each([
    ['API down', async () => ({ url: `http://127.0.0.1:${await freePort()}`, token: TOKEN }), 'error'],
    ['401', async () => ({ url: sonar.url, token: 'squ_wrong' }), 'error'],
  ])(
    'goes on with the task as it came when the API fails (%s), logging it with the task id',
    async (_what, target, result) => {
      const { url, token } = await target();
      const metrics = createMetrics();
      const enrich = createEnrichment([sonarEnricher({ baseUrl: url, token, issueLimit: 50 })], settings, metrics);
      const { lines, logger } = capture();
      const task = gateTask();
      expect(await enrich(task, logger.child({ task_id: task.task_id }))).toBe(task);
      expect(await count(metrics, { source: 'sonarcloud', result })).toBe(1);
      const warning = lines.find((l) => l.msg === 'enrichment failed: the task goes on without it');
      expect(warning).toMatchObject({ task_id: task.task_id, source: 'sonarcloud' });
      expect(JSON.stringify(lines)).not.toContain(token);
    },
  );

  it('gives up at the timeout, whatever the enricher does', async () => {
    const metrics = createMetrics();
    const hanging: Enricher = { source: 'jira', heading: 'x', enrich: () => new Promise(() => undefined) };
    const enrich = createEnrichment([hanging], { ...settings, timeoutMs: 50 }, metrics);
    const task = makeTask();
    expect(await enrich(task, pino({ level: 'silent' }))).toBe(task);
    expect(await count(metrics, { source: 'jira', result: 'timeout' })).toBe(1);
  });

  it('ends at once when the orchestrator stops', async () => {
    const hanging: Enricher = { source: 'jira', heading: 'x', enrich: () => new Promise(() => undefined) };
    const metrics = createMetrics();
    const stopping = new AbortController();
    const task = makeTask();
    const enriched = createEnrichment([hanging], { ...settings, timeoutMs: 60_000 }, metrics)(
      task,
      pino({ level: 'silent' }),
      stopping.signal,
    );
    stopping.abort();
    expect(await enriched).toBe(task);
    expect(await count(metrics, { source: 'jira', result: 'error' })).toBe(1);
  });

  it('times out a slow API', async () => {
    sonar.inject({ kind: 'delay', ms: 1_000 }, { path: '/api/issues/search' });
    const metrics = createMetrics();
    const enrich = createEnrichment(
      [sonarEnricher({ baseUrl: sonar.url, token: TOKEN, issueLimit: 50 })],
      { ...settings, timeoutMs: 100 },
      metrics,
    );
    const task = gateTask();
    expect(await enrich(task, pino({ level: 'silent' }))).toBe(task);
    expect(await count(metrics, { source: 'sonarcloud', result: 'timeout' })).toBe(1);
  });

  it('skips an unconfigured source, named once at start', async () => {
    const { lines, logger } = capture();
    const enrichers = enrichersFromConfig(
      { ...settings, sonar: undefined, datadog: undefined, jira: undefined },
      logger,
    );
    expect(enrichers).toEqual([]);
    expect(lines.map((l) => l.msg)).toEqual([
      expect.stringMatching(/^SONAR_TOKEN is not set/),
      expect.stringMatching(/^DATADOG_API_KEY and DATADOG_APP_KEY/),
      expect.stringMatching(/^JIRA_BASE_URL and JIRA_API_TOKEN/),
    ]);
    const metrics = createMetrics();
    const task = gateTask();
    expect(await createEnrichment(enrichers, settings, metrics)(task, logger)).toBe(task);
    expect(lines).toHaveLength(3);
    expect(await count(metrics, { source: 'sonarcloud', result: 'skipped' })).toBe(1);
  });

  it('keeps the head and the tail of a long enrichment within the budget', async () => {
    const long: Enricher = {
      source: 'jira',
      heading: 'JIRA',
      enrich: async () => ({ text: `FIRST ${'x'.repeat(50_000)} LAST` }),
    };
    const enriched = await createEnrichment(
      [long],
      { ...settings, maxChars: 1_000 },
      createMetrics(),
    )(makeTask({ description: 'desc' }), pino({ level: 'silent' }));
    const heading = "## JIRA (fetched by anton from the source's API)\n";
    const description = enriched.description ?? '';
    expect(description.startsWith(`desc\n\n${heading}`)).toBe(true);
    const section = description.slice(`desc\n\n${heading}`.length);
    expect(section.length).toBeLessThanOrEqual(1_000);
    expect(section.startsWith('FIRST')).toBe(true);
    expect(section.endsWith('LAST')).toBe(true);
    expect(section).toContain('characters cut');
  });

  it('takes a base branch and a deployed commit only when they are valid', async () => {
    const facts: Enricher = {
      source: 'datadog',
      heading: 'D',
      enrich: async () => ({ text: 't', baseBranch: '--upload-pack=evil', deployedCommit: 'not a sha' }),
    };
    const enriched = await createEnrichment(
      [facts],
      settings,
      createMetrics(),
    )(makeTask({ source: 'datadog' }), pino({ level: 'silent' }));
    expect(enriched.base_branch).toBeUndefined();
    expect(enriched.deployed_commit).toBeUndefined();
    const valid: Enricher = {
      source: 'datadog',
      heading: 'D',
      enrich: async () => ({ text: 't', baseBranch: 'release/2.x', deployedCommit: 'abc1234' }),
    };
    expect(
      await createEnrichment(
        [valid],
        settings,
        createMetrics(),
      )(makeTask({ source: 'datadog' }), pino({ level: 'silent' })),
    ).toMatchObject({ base_branch: 'release/2.x', deployed_commit: 'abc1234' });
  });
});

describe('cutMiddle', () => {
  it('leaves short text alone and cuts long text to the budget', () => {
    expect(cutMiddle('short', 10)).toBe('short');
    const cut = cutMiddle('a'.repeat(500) + 'b'.repeat(500), 200);
    expect(cut.length).toBeLessThanOrEqual(200);
    expect(cut.startsWith('a')).toBe(true);
    expect(cut.endsWith('b')).toBe(true);
  });
});
