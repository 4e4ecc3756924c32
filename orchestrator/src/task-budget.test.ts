import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { DEFAULT_BUDGET, taskBudgetUsd } from './task-budget.ts';

const base = { RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672', AGENT_IMAGE: 'anton-runner:1' };

describe('the task budget', () => {
  it('is $3 scaled 0.5×, 1×, 2× by complexity by default', () => {
    expect(loadConfig(base).budget).toEqual(DEFAULT_BUDGET);
    expect(['low', 'medium', 'high'].map((c) => taskBudgetUsd(DEFAULT_BUDGET, c as 'low'))).toEqual([1.5, 3, 6]);
  });

  it('takes TASK_BUDGET_USD and any of the scale factors from BUDGET_SCALE', () => {
    const { budget } = loadConfig({ ...base, TASK_BUDGET_USD: '2', BUDGET_SCALE: 'high=4, low=0.25' });
    expect(budget).toEqual({ usd: 2, scale: { low: 0.25, medium: 1, high: 4 } });
    expect(taskBudgetUsd(budget, 'high')).toBe(8);
  });

  it.each([
    [{ TASK_BUDGET_USD: '0' }, /TASK_BUDGET_USD/],
    [{ TASK_BUDGET_USD: 'lots' }, /TASK_BUDGET_USD/],
    [{ BUDGET_SCALE: 'huge=2' }, /BUDGET_SCALE: "huge=2" is not <low\|medium\|high>=<positive factor>/],
    [{ BUDGET_SCALE: 'low=-1' }, /BUDGET_SCALE/],
  ])('refuses %o with a clear error', (vars, error) => {
    expect(() => loadConfig({ ...base, ...vars })).toThrow(error);
  });
});
