import { type AgentTask, encodeRunnerResult, type RunnerResult } from '@anton/contracts';
import { expect } from 'vitest';

/** What a runner that opened a PR writes to its termination log; override what the test is about. */
export function runnerResult(overrides: Partial<RunnerResult> = {}): RunnerResult {
  return {
    status: 'pr_opened',
    pr_url: 'https://github.com/acme/orders/pull/7',
    branch: 'fix/ORD-42',
    turns: 6,
    review_rounds: 1,
    usage: {
      coder: {
        input_tokens: 12_000,
        output_tokens: 900,
        cache_creation_input_tokens: 3_000,
        cache_read_input_tokens: 40_000,
      },
      reviewer: {
        input_tokens: 5_000,
        output_tokens: 120,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 1_024,
      },
    },
    cost_usd: 0.1234,
    ...overrides,
  };
}

/** The termination message of that result, as the pod shows it. */
export const terminationMessage = (overrides: Partial<RunnerResult> = {}): string =>
  encodeRunnerResult(runnerResult(overrides));

/**
 * The task.completed outcome of `task` once its runner wrote runnerResult(): a pull request,
 * on the java-backend template the tests' plans route to by the LLM.
 */
export function prOpenedOutcome(task: AgentTask) {
  return {
    task_id: task.task_id,
    source: task.source,
    external_id: task.external_id,
    status: 'pr_opened',
    template_id: 'java-backend',
    routed_by: 'llm',
    pr_url: 'https://github.com/acme/orders/pull/7',
    usage: runnerResult().usage,
    cost_usd: runnerResult().cost_usd,
    finished_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
  };
}
