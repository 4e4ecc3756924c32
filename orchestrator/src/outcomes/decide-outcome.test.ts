import { describe, expect, it } from 'vitest';
import { runnerResult, terminationMessage } from '../../test/runner-results.ts';
import { allowsRetry, runnerStatusOf } from './claim-policy.ts';
import { decideOutcome } from './decide-outcome.ts';

const podFailurePolicy = { reason: 'PodFailurePolicy', message: 'Container agent failed with exit code 2' };
const backoffLimit = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
const deadline = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };

describe('decideOutcome', () => {
  it("takes the runner's result of a completed run: status, PR, usage, cost", () => {
    expect(decideOutcome({ succeeded: true, message: terminationMessage() })).toEqual({
      status: 'pr_opened',
      pr_url: 'https://github.com/acme/orders/pull/7',
      usage: runnerResult().usage,
      cost_usd: 0.1234,
    });
  });

  it('takes a draft pull request of unfinished work as draft_opened, with its reason', () => {
    const message = terminationMessage({ status: 'draft_opened', reason: 'the budget of $3.00 is spent' });
    expect(decideOutcome({ succeeded: true, message })).toEqual({
      status: 'draft_opened',
      pr_url: 'https://github.com/acme/orders/pull/7',
      reason: 'the budget of $3.00 is spent',
      usage: runnerResult().usage,
      cost_usd: 0.1234,
    });
  });

  it('reads the result of an older runner, which reported no cost, as costing nothing', () => {
    const { cost_usd: _cost, ...older } = runnerResult();
    expect(decideOutcome({ succeeded: true, message: JSON.stringify(older) })).toMatchObject({ cost_usd: 0 });
  });

  it("believes the result over the Job's condition: exit 2 fails the Job yet means no change or rejected", () => {
    for (const status of ['no_changes', 'rejected'] as const) {
      const message = terminationMessage({ status, pr_url: undefined, reason: `runner says ${status}` });
      expect(decideOutcome({ succeeded: false, failure: podFailurePolicy, message })).toEqual({
        status,
        reason: `runner says ${status}`,
        usage: runnerResult().usage,
        cost_usd: 0.1234,
      });
    }
  });

  it('gives a failed result without a reason the Job condition as its reason', () => {
    const message = terminationMessage({ status: 'failed', pr_url: undefined });
    expect(decideOutcome({ succeeded: false, failure: backoffLimit, message })).toMatchObject({
      status: 'failed',
      reason: 'BackoffLimitExceeded: Job has reached the specified backoff limit',
    });
  });

  it('calls a run stopped at its deadline timed_out, keeping whatever usage it reported', () => {
    expect(decideOutcome({ succeeded: false, failure: deadline, message: undefined })).toEqual({
      status: 'timed_out',
      reason: 'the run exceeded its deadline (DeadlineExceeded: Job was active longer than specified deadline)',
    });
    const partial = terminationMessage({ status: 'failed', pr_url: undefined, reason: 'SIGTERM' });
    expect(decideOutcome({ succeeded: false, failure: deadline, message: partial })).toMatchObject({
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
    const completed = decideOutcome({ succeeded: true, message });
    expect(completed.status).toBe('failed');
    expect(completed.reason).toContain(`the runner completed, but ${problem}`);
    const failed = decideOutcome({ succeeded: false, failure: podFailurePolicy, message });
    expect(failed.reason).toMatch(
      /^the run failed \(PodFailurePolicy: Container agent failed with exit code 2\), but /,
    );
  });

  it('shortens a long unreadable message in the reason', () => {
    const outcome = decideOutcome({ succeeded: true, message: 'x'.repeat(5000) });
    expect(outcome.reason?.length).toBeLessThan(400);
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
