import { describe, expect, it } from 'vitest';
import { makeTask } from '../test/tasks.ts';
import { type Resolution, resolveRepository, sameRepository } from './resolve-repository.ts';
import { emptyRoutingConfig, parseRoutingConfig } from './routing-config.ts';

const config = parseRoutingConfig(`
allowed_repositories: [github.com/acme/*, github.com/platform/tools]
repositories:
  - url: https://github.com/acme/orders.git
    base_branch: develop
    jira_projects: [ORD]
    datadog_services: [orders-api]
    sonar_projects: [acme_orders]
    template: java-backend
  - url: https://github.com/acme/web.git
    jira_projects: [WEB]
    datadog_services: [web]
`);
const [orders, web] = config.repositories;
const entryOf = (resolution: Resolution) => (resolution.kind === 'resolved' ? resolution.repository.entry : undefined);
const resolvedOf = (resolution: Resolution) => (resolution.kind === 'resolved' ? resolution.repository : resolution);

describe('resolveRepository', () => {
  it('maps a JIRA project from the labels, the payload or the issue key', () => {
    expect(resolvedOf(resolveRepository(makeTask({ labels: { project: 'ORD' } }), config))).toEqual({
      url: 'https://github.com/acme/orders.git',
      baseBranch: 'develop',
      entry: orders,
      resolvedBy: 'jira-project',
    });
    const fromPayload = makeTask({
      labels: {},
      external_id: '10042',
      raw_payload: { issue: { fields: { project: { key: 'WEB' } } } },
    });
    expect(entryOf(resolveRepository(fromPayload, config))).toBe(web);
    expect(entryOf(resolveRepository(makeTask({ labels: {}, external_id: 'WEB-7' }), config))).toBe(web);
  });

  it('maps a Datadog service from the labels or the payload tags', () => {
    const labelled = makeTask({ source: 'datadog', external_id: '123', labels: { service: 'web' } });
    expect(resolvedOf(resolveRepository(labelled, config))).toMatchObject({
      entry: web,
      resolvedBy: 'datadog-service',
    });
    const repeated = makeTask({ source: 'datadog', external_id: '123', labels: { service: 'unknown,orders-api' } });
    expect(entryOf(resolveRepository(repeated, config))).toBe(orders);
    const tagged = makeTask({
      source: 'datadog',
      external_id: '123',
      labels: undefined,
      raw_payload: { tags: 'env:prod,service:orders-api' },
    });
    expect(entryOf(resolveRepository(tagged, config))).toBe(orders);
  });

  it('maps a Sonar project key', () => {
    const task = makeTask({
      source: 'sonarcloud',
      external_id: 'AY123',
      raw_payload: { project: { key: 'acme_orders' } },
    });
    expect(resolvedOf(resolveRepository(task, config))).toMatchObject({ entry: orders, resolvedBy: 'sonar-project' });
  });

  it("takes the task's base branch (what Sonar analysed) over the entry's", () => {
    const task = makeTask({
      source: 'sonarcloud',
      external_id: 'acme_orders@release/2.x',
      base_branch: 'release/2.x',
      raw_payload: { project: { key: 'acme_orders' } },
    });
    expect(resolvedOf(resolveRepository(task, config))).toMatchObject({ baseBranch: 'release/2.x', entry: orders });
    expect(
      resolvedOf(resolveRepository({ ...task, repository: 'https://github.com/acme/orders' }, config)),
    ).toMatchObject({
      baseBranch: 'release/2.x',
      resolvedBy: 'task',
    });
  });

  it('lets an allowed repository named by the task win, in https form, keeping the matching entry settings', () => {
    const task = makeTask({ repository: 'git@github.com:ACME/orders.git', labels: { project: 'WEB' } });
    expect(resolvedOf(resolveRepository(task, config))).toEqual({
      url: 'https://github.com/acme/orders.git',
      baseBranch: 'develop',
      entry: orders,
      resolvedBy: 'task',
    });
    const byPattern = makeTask({ repository: 'https://github.com/acme/unmapped' });
    expect(resolvedOf(resolveRepository(byPattern, config))).toEqual({
      url: 'https://github.com/acme/unmapped',
      baseBranch: 'main',
      resolvedBy: 'task',
    });
    const exact = makeTask({ repository: 'github.com/platform/tools' });
    expect(resolvedOf(resolveRepository(exact, config))).toMatchObject({ url: 'https://github.com/platform/tools' });
  });

  it("uses Datadog's git.repository_url tag when allowed", () => {
    const task = makeTask({
      source: 'datadog',
      external_id: '1',
      labels: { service: 'web', 'git.repository_url': 'https://github.com/acme/payments' },
    });
    expect(resolvedOf(resolveRepository(task, config))).toMatchObject({
      url: 'https://github.com/acme/payments',
      resolvedBy: 'datadog-repository-tag',
    });
    const fromTags = makeTask({
      source: 'datadog',
      external_id: '1',
      labels: undefined,
      raw_payload: { tags: 'service:web,git.repository_url:https://evil.example/acme/web' },
    });
    expect(resolveRepository(fromTags, config)).toEqual({
      kind: 'not-allowed',
      named: 'https://evil.example/acme/web',
    });
  });

  it('refuses a named repository outside the allowlist instead of falling back to the map', () => {
    for (const repository of [
      'https://github.com/platform/other',
      'https://github.com/mallory/acme',
      'http://evil.example/x/y.git',
      '--upload-pack=touch /tmp/pwned',
      'file:///etc',
    ]) {
      const task = makeTask({ repository, labels: { project: 'ORD' } });
      expect(resolveRepository(task, config)).toEqual({ kind: 'not-allowed', named: repository });
    }
  });

  it('allows only the entries when there are no patterns', () => {
    const entriesOnly = parseRoutingConfig('repositories:\n  - url: https://github.com/acme/orders.git\n');
    expect(resolveRepository(makeTask({ repository: 'https://github.com/acme/orders' }), entriesOnly).kind).toBe(
      'resolved',
    );
    expect(resolveRepository(makeTask({ repository: 'https://github.com/acme/web' }), entriesOnly).kind).toBe(
      'not-allowed',
    );
  });

  it('gives none when nothing matches', () => {
    expect(resolveRepository(makeTask({ labels: { project: 'NOPE' }, external_id: 'NOPE-1' }), config)).toEqual({
      kind: 'none',
    });
    expect(resolveRepository(makeTask(), emptyRoutingConfig('https://github.com'))).toEqual({ kind: 'none' });
  });
});

describe('sameRepository', () => {
  it('treats URL spellings of one repository alike', () => {
    expect(sameRepository('https://GitHub.com/acme/x.git', 'git@github.com:ACME/x', config)).toBe(true);
    expect(sameRepository('https://token@github.com/acme/x/', 'https://github.com/acme/x', config)).toBe(true);
    expect(sameRepository('https://github.com/acme/x', 'https://github.com/acme/y', config)).toBe(false);
    expect(sameRepository('https://evil.example/acme/x', 'https://evil.example/acme/x', config)).toBe(false);
  });
});
