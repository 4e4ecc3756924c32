import { RouterPlan } from '@anton/contracts';
import { describe, expect, it } from 'vitest';
import { makeTask } from '../../test/tasks.ts';
import type { ResolvedRepository } from '../resolve-repository.ts';
import type { RoutingEntry } from '../routing-config.ts';
import { ruleBasedPlan } from './rule-router.ts';

const entry = (overrides: Partial<RoutingEntry>): RoutingEntry => ({
  url: 'https://github.com/acme/x',
  base_branch: 'main',
  jira_projects: [],
  datadog_services: [],
  sonar_projects: [],
  languages: [],
  ...overrides,
});

const repo = (routing?: RoutingEntry): ResolvedRepository => ({
  url: 'https://github.com/acme/x',
  baseBranch: 'main',
  resolvedBy: 'task',
  ...(routing && { entry: routing }),
});

describe('ruleBasedPlan', () => {
  it("takes the routing entry's template first", () => {
    const task = makeTask({ title: 'Django view crashes', description: 'Traceback in views.py' });
    const plan = ruleBasedPlan({
      task,
      repository: repo(entry({ template: 'react-frontend', languages: ['python'] })),
    });
    expect(plan.template_id).toBe('react-frontend');
  });

  it("then the repository's languages", () => {
    const task = makeTask({ title: 'Something broke', description: 'no hints here' });
    expect(ruleBasedPlan({ task, repository: repo(entry({ languages: ['Kotlin'] })) }).template_id).toBe(
      'java-backend',
    );
    expect(ruleBasedPlan({ task, repository: repo(entry({ languages: ['python'] })) }).template_id).toBe(
      'python-backend',
    );
  });

  it('then keywords in labels, title and description, with the matching skills', () => {
    const task = makeTask({
      title: 'Traceback in checkout',
      description: 'pytest fails in orders/views.py since the Django upgrade',
      labels: { component: 'backend' },
    });
    const plan = ruleBasedPlan({ task, repository: repo() });
    expect(plan.template_id).toBe('python-backend');
    expect(plan.required_skills).toEqual(['python', 'django']);
    const react = makeTask({ title: 'Button misaligned', description: 'see Cart.tsx', labels: { team: 'frontend' } });
    expect(ruleBasedPlan({ task: react, repository: repo() }).template_id).toBe('react-frontend');
  });

  it('falls back to general-research when nothing hints at a stack', () => {
    const task = makeTask({ title: 'Weird numbers in the report', description: 'totals look off', labels: {} });
    expect(ruleBasedPlan({ task, repository: repo() })).toMatchObject({
      template_id: 'general-research',
      required_skills: [],
    });
  });

  it('derives complexity from priority', () => {
    const complexity = (priority: 'P1' | 'P2' | 'P3' | 'P4') =>
      ruleBasedPlan({ task: makeTask({ priority }), repository: repo() }).complexity;
    expect([complexity('P1'), complexity('P2'), complexity('P3'), complexity('P4')]).toEqual([
      'high',
      'medium',
      'medium',
      'low',
    ]);
  });

  it('always yields a valid RouterPlan, even for huge titles', () => {
    const task = makeTask({ title: 'x'.repeat(10_000), description: 'java '.repeat(10_000) });
    const plan = ruleBasedPlan({ task, repository: repo() });
    expect(RouterPlan.safeParse(plan).success).toBe(true);
    expect(plan.context_summary).toContain('Planned by rules');
  });
});
