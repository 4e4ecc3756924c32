import { FakeSonar } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTask } from '../../../test/tasks.ts';
import { sonarEnricher } from './sonar-enricher.ts';

let sonar: FakeSonar;
const PROJECT = 'acme_orders';

function gateTask(conditions: Array<{ metric: string; status: string }>, branch = { name: 'main', type: 'BRANCH' }) {
  return makeTask({
    source: 'sonarcloud',
    external_id: `${PROJECT}@${branch.name}`,
    raw_payload: {
      status: 'SUCCESS',
      revision: '575718d8287cd09630ff0ff9aa4bb8570ea4ef29',
      project: { key: PROJECT, name: 'Orders' },
      branch,
      qualityGate: { status: 'ERROR', conditions },
    },
  });
}

beforeAll(async () => {
  sonar = await FakeSonar.start();
  sonar
    .addProject(PROJECT, { branches: ['release/2.x'] })
    .addRule('java:S2259', 'Null pointers should not be dereferenced')
    .addRule('java:S1192', 'String literals should not be duplicated')
    .addIssue(PROJECT, {
      rule: 'java:S1192',
      severity: 'MINOR',
      type: 'CODE_SMELL',
      path: 'src/main/java/acme/Labels.java',
      line: 7,
      message: 'Define a constant instead of duplicating this literal "total" 3 times.',
      newCode: true,
    })
    .addIssue(PROJECT, {
      rule: 'java:S2259',
      severity: 'MAJOR',
      type: 'BUG',
      path: 'src/main/java/acme/OrderService.java',
      line: 42,
      textRange: { startLine: 42, endLine: 42, startOffset: 15, endOffset: 29 },
      message: 'A "NullPointerException" could be thrown; "discount" is nullable here.',
      newCode: true,
    })
    .addIssue(PROJECT, {
      rule: 'java:S2259',
      severity: 'CRITICAL',
      type: 'BUG',
      path: 'src/main/java/acme/Old.java',
      line: 3,
      message: 'An old issue, not on new code.',
    })
    .addIssue(PROJECT, {
      rule: 'java:S2259',
      severity: 'BLOCKER',
      type: 'BUG',
      path: 'src/main/java/acme/Fixed.java',
      line: 9,
      message: 'Resolved already.',
      newCode: true,
      status: 'RESOLVED',
    })
    .addHotspot(PROJECT, {
      ruleKey: 'java:S2077',
      path: 'src/main/java/acme/Repo.java',
      line: 12,
      message: 'Make sure using a dynamically formatted SQL query is safe here.',
      securityCategory: 'sql-injection',
      vulnerabilityProbability: 'HIGH',
      newCode: true,
    })
    .addCoverage(PROJECT, { path: 'src/main/java/acme/OrderService.java', uncoveredLines: 30, newUncoveredLines: 12 })
    .addCoverage(PROJECT, { path: 'src/main/java/acme/Labels.java', uncoveredLines: 50, newUncoveredLines: 2 })
    .addPullRequest(PROJECT, { key: '7', title: 'Faster totals', branch: 'feature/faster-totals', base: 'main' })
    .addIssue(PROJECT, {
      rule: 'java:S2259',
      severity: 'MAJOR',
      type: 'BUG',
      path: 'src/main/java/acme/Totals.java',
      line: 5,
      message: 'On the pull request.',
      pullRequest: '7',
      newCode: true,
    });
});
afterAll(() => sonar.close());

const enricher = (token = sonar.token, issueLimit = 50) => sonarEnricher({ baseUrl: sonar.url, token, issueLimit });
const signal = () => AbortSignal.timeout(5000);

describe('sonar enrichment', () => {
  it('lists the open new-code issues of a failed new-code gate, most severe first, with rule name, file and line', async () => {
    const found = await enricher().enrich(gateTask([{ metric: 'new_violations', status: 'ERROR' }]), signal());
    const text = found?.text ?? '';
    expect(text).toContain(
      'Analysed: project acme_orders, branch main, revision 575718d8287cd09630ff0ff9aa4bb8570ea4ef29',
    );
    expect(text).toContain('Open issues on new code (2 of 2, most severe first):');
    expect(text).toContain(
      '1. [MAJOR BUG] java:S2259 "Null pointers should not be dereferenced"\n   src/main/java/acme/OrderService.java:42 (columns 15-29)\n   A "NullPointerException" could be thrown',
    );
    expect(text).toContain('2. [MINOR CODE_SMELL] java:S1192');
    expect(text).not.toContain('Old.java');
    expect(text).not.toContain('Fixed.java');
    const search = sonar.received('/api/issues/search').at(-1);
    expect(Object.fromEntries(search?.query ?? [])).toMatchObject({
      componentKeys: PROJECT,
      branch: 'main',
      resolved: 'false',
      inNewCodePeriod: 'true',
      s: 'SEVERITY',
      asc: 'false',
    });
    expect(search?.headers.authorization).toBe(`Bearer ${sonar.token}`);
  });

  it('takes every open issue when a condition is on overall code, and asks for each rule once', async () => {
    const before = sonar.received('/api/rules/show').length;
    const sonarOnce = enricher();
    const found = await sonarOnce.enrich(gateTask([{ metric: 'reliability_rating', status: 'ERROR' }]), signal());
    expect(found?.text).toContain('Open issues (3 of 3, most severe first):\n1. [CRITICAL BUG] java:S2259');
    await sonarOnce.enrich(gateTask([{ metric: 'reliability_rating', status: 'ERROR' }]), signal());
    expect(sonar.received('/api/rules/show').length - before).toBe(2);
  });

  it('pages up to the limit', async () => {
    const found = await enricher(sonar.token, 1).enrich(
      gateTask([{ metric: 'reliability_rating', status: 'ERROR' }]),
      signal(),
    );
    expect(found?.text).toContain('Open issues (1 of 3');
    expect(sonar.received('/api/issues/search').at(-1)?.query.get('ps')).toBe('1');
  });

  it('lists hotspots and the files with the most uncovered new lines when those conditions fail', async () => {
    const found = await enricher().enrich(
      gateTask([
        { metric: 'new_security_hotspots_reviewed', status: 'ERROR' },
        { metric: 'new_coverage', status: 'ERROR' },
      ]),
      signal(),
    );
    const text = found?.text ?? '';
    expect(text).toContain(
      'Security hotspots to review (1 of 1):\n- [HIGH sql-injection] java:S2077 src/main/java/acme/Repo.java:12',
    );
    expect(text).toContain(
      'Files with the most uncovered new lines:\n- src/main/java/acme/OrderService.java: 12\n- src/main/java/acme/Labels.java: 2',
    );
    expect(text).not.toContain('Open issues');
  });

  it("finds a pull request's head branch, which is what the clone and anton's PR are based on", async () => {
    const found = await enricher().enrich(
      gateTask([{ metric: 'new_violations', status: 'ERROR' }], { name: '7', type: 'PULL_REQUEST' }),
      signal(),
    );
    expect(found?.baseBranch).toBe('feature/faster-totals');
    expect(found?.text).toContain('pull request 7 (head branch feature/faster-totals)');
    expect(found?.text).toContain('Totals.java:5');
    expect(sonar.received('/api/issues/search').at(-1)?.query.get('pullRequest')).toBe('7');
  });

  it('fails on a bad token, an unknown branch and a rate limit, saying what Sonar said', async () => {
    const task = gateTask([{ metric: 'new_violations', status: 'ERROR' }]);
    await expect(enricher('squ_wrong').enrich(task, signal())).rejects.toThrow(/HTTP 401/);
    const unknown = gateTask([{ metric: 'new_violations', status: 'ERROR' }], { name: 'gone', type: 'BRANCH' });
    await expect(enricher().enrich(unknown, signal())).rejects.toThrow(/HTTP 404.*on branch 'gone' not found/);
    sonar.rateLimited(30, 1);
    await expect(enricher().enrich(task, signal())).rejects.toThrow(/HTTP 429/);
  });

  it('keeps the parts that came when one fails', async () => {
    sonar.inject(
      { kind: 'status', status: 403, body: { errors: [{ msg: 'Insufficient privileges' }] } },
      { path: '/api/hotspots/search' },
    );
    const found = await enricher().enrich(
      gateTask([
        { metric: 'new_security_hotspots_reviewed', status: 'ERROR' },
        { metric: 'new_coverage', status: 'ERROR' },
      ]),
      signal(),
    );
    expect(found?.text).toContain('Files with the most uncovered new lines:');
    expect(found?.text).toContain('(part of the findings not fetched: sonar /api/hotspots/search: HTTP 403');
  });

  it('waits out a short Retry-After once', async () => {
    sonar.rateLimited(0, 1);
    const found = await enricher().enrich(gateTask([{ metric: 'new_violations', status: 'ERROR' }]), signal());
    expect(found?.text).toContain('Open issues on new code (2 of 2');
  });

  it('adds nothing for a gate without failing conditions', async () => {
    expect(await enricher().enrich(gateTask([{ metric: 'coverage', status: 'OK' }]), signal())).toBeUndefined();
  });
});
