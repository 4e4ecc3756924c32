import { describe, expect, it } from 'vitest';
import { makeTask } from '../test/tasks.ts';
import { resolveRepository, sameRepository } from './resolve-repository.ts';
import { parseRoutingConfig } from './routing-config.ts';

const config = parseRoutingConfig(`
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

describe('resolveRepository', () => {
  it('maps a JIRA project from the labels, the payload or the issue key', () => {
    expect(resolveRepository(makeTask({ labels: { project: 'ORD' } }), config)).toEqual({
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
    expect(resolveRepository(fromPayload, config)?.entry).toBe(web);
    expect(resolveRepository(makeTask({ labels: {}, external_id: 'WEB-7' }), config)?.entry).toBe(web);
  });

  it('maps a Datadog service from the labels or the payload tags', () => {
    const labelled = makeTask({ source: 'datadog', external_id: '123', labels: { service: 'web' } });
    expect(resolveRepository(labelled, config)).toMatchObject({ entry: web, resolvedBy: 'datadog-service' });
    const repeated = makeTask({ source: 'datadog', external_id: '123', labels: { service: 'unknown,orders-api' } });
    expect(resolveRepository(repeated, config)?.entry).toBe(orders);
    const tagged = makeTask({
      source: 'datadog',
      external_id: '123',
      labels: undefined,
      raw_payload: { tags: 'env:prod,service:orders-api' },
    });
    expect(resolveRepository(tagged, config)?.entry).toBe(orders);
  });

  it('maps a Sonar project key', () => {
    const task = makeTask({
      source: 'sonarcloud',
      external_id: 'AY123',
      raw_payload: { project: { key: 'acme_orders' } },
    });
    expect(resolveRepository(task, config)).toMatchObject({ entry: orders, resolvedBy: 'sonar-project' });
  });

  it("takes the task's base branch (what Sonar analysed) over the entry's", () => {
    const task = makeTask({
      source: 'sonarcloud',
      external_id: 'acme_orders@release/2.x',
      base_branch: 'release/2.x',
      raw_payload: { project: { key: 'acme_orders' } },
    });
    expect(resolveRepository(task, config)).toMatchObject({ baseBranch: 'release/2.x', entry: orders });
    expect(resolveRepository({ ...task, repository: 'https://github.com/acme/orders' }, config)).toMatchObject({
      baseBranch: 'release/2.x',
      resolvedBy: 'task',
    });
  });

  it('lets a repository named by the task win, in https form, keeping the matching entry settings', () => {
    const task = makeTask({ repository: 'git@github.com:acme/orders.git', labels: { project: 'WEB' } });
    expect(resolveRepository(task, config)).toEqual({
      url: 'https://github.com/acme/orders.git',
      baseBranch: 'develop',
      entry: orders,
      resolvedBy: 'task',
    });
    const unknown = makeTask({ repository: 'https://github.com/acme/unmapped' });
    expect(resolveRepository(unknown, config)).toEqual({
      url: 'https://github.com/acme/unmapped',
      baseBranch: 'main',
      resolvedBy: 'task',
    });
  });

  it("uses Datadog's git.repository_url tag", () => {
    const task = makeTask({
      source: 'datadog',
      external_id: '1',
      labels: { service: 'web', 'git.repository_url': 'https://github.com/acme/payments' },
    });
    expect(resolveRepository(task, config)).toMatchObject({
      url: 'https://github.com/acme/payments',
      resolvedBy: 'datadog-repository-tag',
    });
  });

  it('ignores a named repository that is not a usable URL and falls back to the map', () => {
    const task = makeTask({ repository: '--upload-pack=touch /tmp/pwned', labels: { project: 'ORD' } });
    expect(resolveRepository(task, config)).toMatchObject({ entry: orders, resolvedBy: 'jira-project' });
    const unreachable = makeTask({ repository: 'file:///etc', labels: { project: 'ORD' } });
    expect(resolveRepository(unreachable, config)).toMatchObject({ entry: orders, resolvedBy: 'jira-project' });
  });

  it('gives undefined when nothing matches', () => {
    expect(resolveRepository(makeTask({ labels: { project: 'NOPE' }, external_id: 'NOPE-1' }), config)).toBeUndefined();
    expect(resolveRepository(makeTask(), { repositories: [] })).toBeUndefined();
  });
});

describe('sameRepository', () => {
  it('treats URL spellings of one repository alike', () => {
    expect(sameRepository('https://GitHub.com/acme/x.git', 'git@github.com:acme/x')).toBe(true);
    expect(sameRepository('https://token@github.com/acme/x/', 'https://github.com/acme/x')).toBe(true);
    expect(sameRepository('https://github.com/acme/x', 'https://github.com/acme/y')).toBe(false);
  });
});
