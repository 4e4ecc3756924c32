import { describe, expect, it } from 'vitest';
import { runnerResult, terminationMessage } from '../../test/runner-results.ts';
import { allowsRetry, runnerStatusOf } from './claim-policy.ts';
import { decideOutcome, type RunEnd } from './decide-outcome.ts';
import { isPullRequestOf, runTask } from './reported-facts.ts';

const podFailurePolicy = { reason: 'PodFailurePolicy', message: 'Container agent failed with exit code 2' };
const backoffLimit = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
const deadline = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };

const TASK_ID = '7d3f5b2e-8a41-4c9e-b6f0-2e1d9c8a7b65';
const task = runTask(TASK_ID, 'ORD-42', 'https://github.com/acme/orders.git');
const decide = (end: RunEnd) => decideOutcome(end, task);

describe('decideOutcome', () => {
  it("takes the runner's result of a completed run: status, PR, usage, cost", () => {
    expect(decide({ succeeded: true, message: terminationMessage() })).toEqual({
      status: 'pr_opened',
      pr_url: 'https://github.com/acme/orders/pull/7',
      usage: runnerResult().usage,
      cost_usd: 0.1234,
    });
  });

  it('takes a draft pull request of unfinished work as draft_opened, with its reason', () => {
    const message = terminationMessage({ status: 'draft_opened', reason: 'the budget of $3.00 is spent' });
    expect(decide({ succeeded: true, message })).toEqual({
      status: 'draft_opened',
      pr_url: 'https://github.com/acme/orders/pull/7',
      reason: 'the budget of $3.00 is spent',
      usage: runnerResult().usage,
      cost_usd: 0.1234,
    });
  });

  it('reads the result of an older runner, which reported no cost, as costing nothing', () => {
    const { cost_usd: _cost, ...older } = runnerResult();
    expect(decide({ succeeded: true, message: JSON.stringify(older) })).toMatchObject({ cost_usd: 0 });
  });

  it("believes the result over the Job's condition: exit 2 fails the Job yet means no change or rejected", () => {
    for (const status of ['no_changes', 'rejected'] as const) {
      const message = terminationMessage({ status, pr_url: undefined, reason: `runner says ${status}` });
      expect(decide({ succeeded: false, failure: podFailurePolicy, message })).toEqual({
        status,
        reason: `runner says ${status}`,
        usage: runnerResult().usage,
        cost_usd: 0.1234,
      });
    }
  });

  it('gives a failed result without a reason the Job condition as its reason', () => {
    const message = terminationMessage({ status: 'failed', pr_url: undefined });
    expect(decide({ succeeded: false, failure: backoffLimit, message })).toMatchObject({
      status: 'failed',
      reason: 'BackoffLimitExceeded: Job has reached the specified backoff limit',
    });
  });

  it('calls a run stopped at its deadline timed_out, keeping whatever usage it reported', () => {
    expect(decide({ succeeded: false, failure: deadline, message: undefined })).toEqual({
      status: 'timed_out',
      reason: 'the run exceeded its deadline (DeadlineExceeded: Job was active longer than specified deadline)',
    });
    const partial = terminationMessage({ status: 'failed', pr_url: undefined, reason: 'SIGTERM' });
    expect(decide({ succeeded: false, failure: deadline, message: partial })).toMatchObject({
      status: 'timed_out',
      usage: runnerResult().usage,
    });
  });

  it.each([
    ['no message', undefined, 'it left no result (empty termination message)'],
    ['a blank message', '  \n', 'it left no result'],
    ['the log tail instead of a result', 'Error: boom\n    at main.js:1', 'its result is not JSON: Error: boom'],
    ['JSON that is not a result', '{"status":"merged"}', 'its result is invalid: status:'],
  ])('fails a run with %s, saying so', (_, message, problem) => {
    const completed = decide({ succeeded: true, message });
    expect(completed.status).toBe('failed');
    expect(completed.reason).toContain(`the runner completed, but ${problem}`);
    const failed = decide({ succeeded: false, failure: podFailurePolicy, message });
    expect(failed.reason).toMatch(
      /^the run failed \(PodFailurePolicy: Container agent failed with exit code 2\), but /,
    );
  });

  it('shortens a long unreadable message in the reason', () => {
    const outcome = decide({ succeeded: true, message: 'x'.repeat(5000) });
    expect(outcome.reason?.length).toBeLessThan(400);
  });
});

// The termination message is written in the pod the agent worked in: what it says is checked.
describe('decideOutcome against what was dispatched', () => {
  const untrusted = (overrides: Parameters<typeof terminationMessage>[0]) =>
    decideOutcome({ succeeded: true, message: terminationMessage(overrides) }, task);

  it.each([
    ['another repository', 'https://github.com/mallory/orders/pull/7'],
    ['another host', 'https://evil.example/acme/orders/pull/7'],
    ['plain http', 'http://github.com/acme/orders/pull/7'],
    ['a page that is not a pull request', 'https://github.com/acme/orders/issues/7'],
    ['a look-alike path', 'https://github.com/acme/orders-fork/pull/7'],
    ['a query riding along', 'https://github.com/acme/orders/pull/7?x=https://github.com/acme/orders'],
  ])('fails a pull request on %s', (_what, pr_url) => {
    expect(untrusted({ pr_url })).toEqual({
      status: 'failed',
      reason: `the reported pull request ${pr_url} is not one of the task's repository https://github.com/acme/orders.git`,
      usage: runnerResult().usage,
    });
  });

  it("fails a result naming another branch or task, and takes the task's own", () => {
    expect(untrusted({ branch: 'fix/OTHER-1' })).toMatchObject({
      status: 'failed',
      reason: "the runner reported branch fix/OTHER-1, not the task's fix/ORD-42",
    });
    expect(untrusted({ task_id: 'b5b3c0de-0000-4000-8000-000000000000' })).toMatchObject({
      status: 'failed',
      reason: "the runner's result is for another task (b5b3c0de-0000-4000-8000-000000000000)",
    });
    expect(untrusted({ task_id: TASK_ID, pr_url: 'https://github.com/ACME/Orders/pull/12' })).toMatchObject({
      status: 'pr_opened',
      pr_url: 'https://github.com/ACME/Orders/pull/12',
    });
  });

  it('fails a pull request it cannot check', () => {
    const unknown = runTask(TASK_ID, 'ORD-42', undefined);
    expect(decideOutcome({ succeeded: true, message: terminationMessage() }, unknown)).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/cannot be checked/),
    });
  });

  it('knows a pull request of a repository on its own origin', () => {
    expect(isPullRequestOf('http://127.0.0.1:8080/acme/x/pull/1', 'http://127.0.0.1:8080/acme/x.git')).toBe(true);
    expect(isPullRequestOf('http://127.0.0.1:9090/acme/x/pull/1', 'http://127.0.0.1:8080/acme/x.git')).toBe(false);
    expect(isPullRequestOf('not a url', 'https://github.com/acme/x')).toBe(false);
  });
});

describe('the claim policy', () => {
  it('lets only a failure start the incident again', () => {
    expect(allowsRetry('failed')).toBe(true);
    for (const status of ['pr_opened', 'draft_opened', 'no_changes', 'rejected', 'timed_out'] as const) {
      expect(allowsRetry(status)).toBe(false);
      expect(runnerStatusOf(status)).toBe('done');
    }
    expect(runnerStatusOf('failed')).toBe('failed');
  });
});
