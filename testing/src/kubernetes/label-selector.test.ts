import { describe, expect, it } from 'vitest';
import {
  matchesRequirements,
  matchesSelectorObject,
  parseFieldSelector,
  parseLabelSelector,
} from './label-selector.ts';
import { StatusError } from './status.ts';

const matches = (selector: string, labels: Record<string, string>) =>
  matchesRequirements(parseLabelSelector(selector), labels);

describe('label selectors', () => {
  const labels = { app: 'anton-runner', 'task-id': 't1', 'anton.dev/source': 'jira' };

  it('matches equality, inequality, sets and existence as the API server does', () => {
    expect(matches('app=anton-runner', labels)).toBe(true);
    expect(matches('app==anton-runner,task-id=t1', labels)).toBe(true);
    expect(matches('app=other', labels)).toBe(false);
    expect(matches('app!=other', labels)).toBe(true);
    expect(matches('missing!=x', labels)).toBe(true);
    expect(matches('anton.dev/source in (jira, sonar)', labels)).toBe(true);
    expect(matches('anton.dev/source notin (jira)', labels)).toBe(false);
    expect(matches('missing notin (jira)', labels)).toBe(true);
    expect(matches('missing in (jira)', labels)).toBe(false);
    expect(matches('task-id', labels)).toBe(true);
    expect(matches('!task-id', labels)).toBe(false);
    expect(matches('!missing, app = anton-runner', labels)).toBe(true);
    expect(matches('', labels)).toBe(true);
  });

  it('compares numbers with > and <', () => {
    expect(matches('priority>2', { priority: '3' })).toBe(true);
    expect(matches('priority<2', { priority: '3' })).toBe(false);
  });

  it.each([
    ['app=a b', 'a value with a space'],
    ['app in ()', 'an empty set'],
    ['app in (a', 'an unclosed set'],
    ['=x', 'a missing key'],
    ['bad key!/x=y', 'an invalid key'],
    [`app=${'v'.repeat(64)}`, 'a value over 63 characters'],
  ])('rejects %j (%s) with 400 BadRequest', (selector) => {
    let caught: unknown;
    try {
      parseLabelSelector(selector);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StatusError);
    expect((caught as StatusError).status).toMatchObject({ code: 400, reason: 'BadRequest' });
  });

  it('matches LabelSelector objects (matchLabels and matchExpressions)', () => {
    expect(matchesSelectorObject({ matchLabels: { app: 'anton-runner' } }, labels)).toBe(true);
    expect(
      matchesSelectorObject({ matchExpressions: [{ key: 'task-id', operator: 'In', values: ['t2'] }] }, labels),
    ).toBe(false);
    expect(matchesSelectorObject({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, labels)).toBe(true);
  });
});

describe('field selectors', () => {
  const supported = (field: string) => field === 'metadata.name' || field === 'status.phase';

  it('parses equality and inequality, with escaped commas', () => {
    expect(parseFieldSelector('metadata.name=a\\,b,status.phase!=Running', supported)).toEqual([
      { field: 'metadata.name', negate: false, value: 'a,b' },
      { field: 'status.phase', negate: true, value: 'Running' },
    ]);
  });

  it('rejects a field the resource does not support', () => {
    expect(() => parseFieldSelector('spec.foo=bar', supported)).toThrow('field label not supported: spec.foo');
  });
});
