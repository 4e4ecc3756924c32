import { describe, expect, it } from 'vitest';
import { outcomeLines } from './outcome-words.ts';

const outcome = {
  task_id: '4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d',
  source: 'jira' as const,
  external_id: 'ORD-42',
  finished_at: '2026-12-04T19:00:00Z',
};

describe('outcome words', () => {
  it('call a draft of unfinished work what it is, with the pull request and what is unfinished', () => {
    expect(
      outcomeLines({
        ...outcome,
        status: 'draft_opened',
        pr_url: 'https://github.com/acme/orders/pull/7',
        reason: "the task's budget of $3.00 is spent ($3.01)",
      }),
    ).toEqual([
      'anton opened a draft pull request with unfinished work.',
      'Pull request: https://github.com/acme/orders/pull/7',
      "Unfinished: the task's budget of $3.00 is spent ($3.01)",
      'Task 4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d.',
    ]);
  });

  it('keep the other outcomes as they were', () => {
    expect(outcomeLines({ ...outcome, status: 'failed', reason: 'clone failed' })).toEqual([
      'anton could not fix this.',
      'Reason: clone failed',
      'Task 4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d.',
    ]);
  });
});
