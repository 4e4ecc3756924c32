import { describe, expect, it } from 'vitest';
import { fixture, fixtureJson } from '../../test/fixture.ts';
import { normalizeSonar, SonarPayload, sonarIgnoreReason, sonarPriority, sonarWebhook } from './sonar-webhook.ts';

const failingGate = fixtureJson('sonar-qualitygate-ERROR-1.json');
const passingGate = fixtureJson('sonar-qualitygate-OK-1.json');
const failedTask = fixtureJson('sonar-task-FAILED-1.json');
const parse = (body: unknown) => SonarPayload.parse(body);

describe('sonar normalization', () => {
  it('describes the failed conditions of the gate, not the passing or valueless ones', () => {
    expect(normalizeSonar(parse(failingGate))).toEqual({
      external_id: 'Username_Test_Python_App@master',
      title: 'SonarCloud analysis: Test_Python_App',
      priority: 'P2',
      event: 'quality_gate_error',
      description: [
        'Quality gate "My Quality Gate" is ERROR on project Test_Python_App (Username_Test_Python_App), branch master.',
        'Revision: 575718d8287cd09630ff0ff9aa4bb8570ea4ef29',
        'Analysis task: AYi_1w1fcGD_RU1S5-r_',
        'Failed conditions:',
        '- code_smells is 217 (ERROR: must not be GREATER_THAN 5)',
        '- ncloc is 8435 (ERROR: must not be GREATER_THAN 20)',
        '- new_violations is 3 (ERROR: must not be GREATER_THAN 1)',
      ].join('\n'),
      url: 'https://sonarcloud.io/dashboard?id=Username_Test_Python_App',
      labels: { project: 'Username_Test_Python_App', branch: 'master', quality_gate: 'ERROR' },
      dedup_key: 'sonar:Username_Test_Python_App:branch:master',
      base_branch: 'master',
    });
  });

  it('keys a pull request apart from branches, and reads the repository from an analysis property', () => {
    const pr = {
      ...failingGate,
      branch: { name: '42', type: 'PULL_REQUEST', url: 'https://sonarcloud.io/summary?pullRequest=42' },
      properties: { 'sonar.analysis.repository': 'https://github.com/acme/app.git' },
    };
    const draft = normalizeSonar(parse(pr));
    expect(draft.base_branch).toBeUndefined();
    expect(draft).toMatchObject({
      external_id: 'Username_Test_Python_App@pr-42',
      labels: { project: 'Username_Test_Python_App', pull_request: '42', quality_gate: 'ERROR' },
      dedup_key: 'sonar:Username_Test_Python_App:pr:42',
      url: 'https://sonarcloud.io/summary?pullRequest=42',
      repository: 'https://github.com/acme/app.git',
    });
  });

  it('falls back to the project key and the server dashboard when the payload is old-style', () => {
    const noTask = { ...passingGate, taskId: undefined, qualityGate: { ...passingGate.qualityGate, status: 'ERROR' } };
    expect(normalizeSonar(parse(noTask))).toMatchObject({
      external_id: 'org.sonarqube:example',
      url: 'http://localhost:9000/dashboard?id=org.sonarqube%3Aexample',
      dedup_key: 'sonar:org.sonarqube:example',
    });
  });

  it.each([
    ['FAILED', undefined, 'P1'],
    ['CANCELLED', undefined, 'P1'],
    ['SUCCESS', 'ERROR', 'P2'],
    ['SUCCESS', 'WARN', 'P3'],
    ['SUCCESS', 'OK', 'P4'],
    ['SUCCESS', undefined, 'P3'],
  ])('keeps the original priority rule: task %s, gate %s → %s', (status, gate, priority) => {
    const qualityGate = gate ? { status: gate, conditions: [] } : undefined;
    expect(sonarPriority(parse({ status, project: { key: 'p' }, qualityGate }))).toBe(priority);
  });

  it('names the missing field of a wrong shape', () => {
    expect(SonarPayload.safeParse({ status: 'SUCCESS' }).error?.issues[0]?.path).toEqual(['project']);
  });
});

describe('sonar filters', () => {
  it('starts work only for a failing gate of a successful analysis', () => {
    expect(sonarIgnoreReason(parse(failingGate))).toBeUndefined();
    expect(
      sonarIgnoreReason(parse({ ...failingGate, qualityGate: { ...failingGate.qualityGate, status: 'WARN' } })),
    ).toBeUndefined();
    expect(sonarIgnoreReason(parse(passingGate))).toBe('quality gate passed');
    expect(sonarIgnoreReason(parse(failedTask))).toMatch(/^analysis task FAILED: no quality gate was computed/);
    expect(sonarIgnoreReason(parse({ ...failedTask, status: 'SUCCESS' }))).toBe('no quality gate in the analysis');
  });
});

describe('sonar authentication', () => {
  const body = fixture('sonar-qualitygate-ERROR-1.json');

  it('accepts the bare lowercase hex Sonar sends, and uppercase; refuses a sha256= prefix', () => {
    const hex = sonarWebhook.sign(body, 'pw')['x-sonar-webhook-hmac-sha256'] ?? '';
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    expect(sonarWebhook.authenticate({ 'x-sonar-webhook-hmac-sha256': hex }, body, 'pw')).toBe(true);
    expect(sonarWebhook.authenticate({ 'x-sonar-webhook-hmac-sha256': hex.toUpperCase() }, body, 'pw')).toBe(true);
    expect(sonarWebhook.authenticate({ 'x-sonar-webhook-hmac-sha256': `sha256=${hex}` }, body, 'pw')).toBe(false);
  });
});
