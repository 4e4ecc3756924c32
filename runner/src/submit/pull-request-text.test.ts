import { describe, expect, it } from 'vitest';
import { commitMessage, pullRequestBody, pullRequestTitle } from './pull-request-text.ts';

const usage = {
  coder: { input_tokens: 1200, output_tokens: 300, cache_creation_input_tokens: 4000, cache_read_input_tokens: 25000 },
  reviewer: { input_tokens: 900, output_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
};

describe('pull request text', () => {
  it('titles as the original did: fix(<issue>): <summary, 60 chars>', () => {
    expect(pullRequestTitle('SHOP-7', 'Apply the discount as a percentage\n\nDetails')).toBe(
      'fix(SHOP-7): Apply the discount as a percentage',
    );
    expect(pullRequestTitle('SHOP-7', 'x'.repeat(100))).toBe(`fix(SHOP-7): ${'x'.repeat(60)}`);
  });

  it('commits in the fix(<issue>): form with the rest of the summary as body', () => {
    expect(commitMessage('SHOP-7', 'Apply the discount\n\nIt multiplied by 25 instead of 0.25.')).toBe(
      'fix(SHOP-7): Apply the discount\n\nIt multiplied by 25 instead of 0.25.\n',
    );
    expect(commitMessage('SHOP-7', 'One line')).toBe('fix(SHOP-7): One line\n');
  });

  it('leads with what was wrong and changed, then tests, verdict, source; tokens and cost folded away', () => {
    const body = pullRequestBody({
      issueId: 'SHOP-7',
      issueUrl: 'https://acme.atlassian.net/browse/SHOP-7',
      summary: 'Apply the discount as a percentage\n\nDetails.',
      review: {
        model: 'gpt-4o',
        rounds: 2,
        approved: true,
        reason: 'Fixes the formula and adds a test.',
        problems: [],
      },
      testRuns: [
        { command: 'node --test test/', exitCode: 1, timedOut: false },
        { command: 'node --test', exitCode: 0, timedOut: false },
        { command: 'npm test', exitCode: null, timedOut: true },
      ],
      coder: { model: 'claude-sonnet-5-5', turns: 9 },
      usage,
      costUsd: 0.0731,
      budgetUsd: 3,
    });
    expect(
      body.startsWith('## What was wrong and what changed\n\nApply the discount as a percentage\n\nDetails.'),
    ).toBe(true);
    expect(body).not.toContain('## Unfinished');
    expect(body).toContain('**Source:** [SHOP-7](https://acme.atlassian.net/browse/SHOP-7)');
    const order = ['## What was wrong', '## Evidence', '## Review', '**Source:**', '<details>'].map((h) =>
      body.indexOf(h),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(body).toContain('<details>\n<summary>Tokens and cost: $0.0731 of a $3.00 budget</summary>');
    expect(body).toContain('Approved by gpt-4o after 2 review rounds: Fixes the formula and adds a test.');
    expect(body).toContain(
      '- `node --test test/`: failed (exit code 1)\n- `node --test`: passed\n- `npm test`: timed out',
    );
    expect(body).toContain('| coder (claude-sonnet-5-5, 9 turns) | 1,200 | 25,000 | 4,000 | 300 |');
    expect(body).toContain('| reviewer (gpt-4o) | 900 | 0 | 0 | 40 |');
    expect(body.trimEnd().endsWith('Automated by anton')).toBe(true);
  });

  it('says so when no test ran, and names the issue without a link', () => {
    const body = pullRequestBody({
      issueId: 'SHOP-7',
      summary: 'S',
      review: { model: 'gpt-4o', rounds: 1, approved: true, reason: 'ok', problems: [] },
      testRuns: [],
      coder: { model: 'm', turns: 1 },
      usage,
      costUsd: 0,
    });
    expect(body).toContain('**Source:** SHOP-7\n');
    expect(body).toContain('_The agent ran no test command._');
    expect(body).toContain('after 1 review round:');
  });

  it('says what is unfinished in a draft: why, the reviewer’s open points, the last test run', () => {
    const body = pullRequestBody({
      issueId: 'SHOP-7',
      summary: 'Apply the discount as a percentage',
      review: {
        model: 'gpt-4o',
        rounds: 3,
        approved: false,
        reason: 'The rounding is still wrong.',
        problems: ['round half up, not down', 'add a test for 0.5 cents'],
      },
      testRuns: [{ command: 'npm test', exitCode: 1, timedOut: false }],
      coder: { model: 'm', turns: 40 },
      usage,
      costUsd: 3.01,
      budgetUsd: 3,
      unfinished: "the task's budget of $3.00 is spent ($3.01)",
    });
    expect(body).toContain(
      "## Unfinished\n\nThis draft holds the change as it stood when the task's budget of $3.00 is spent",
    );
    expect(body).toContain(
      "- **The reviewer's open points:** \n  - round half up, not down\n  - add a test for 0.5 cents",
    );
    expect(body).toContain('- **The last test run:** `npm test`: failed (exit code 1)');
    expect(body).toContain('Not approved by gpt-4o after 3 review rounds: The rounding is still wrong.');
    expect(body.indexOf('## Unfinished')).toBeLessThan(body.indexOf('## Evidence'));
  });

  it('says a draft was never reviewed when the run ended first', () => {
    const body = pullRequestBody({
      issueId: 'SHOP-7',
      summary: 'S',
      review: undefined,
      testRuns: [],
      coder: { model: 'm', turns: 100 },
      usage,
      costUsd: 1,
      unfinished: 'the coder did not call submit_changes within 100 turns',
    });
    expect(body).toContain("- **The reviewer's open points:** not reviewed");
    expect(body).toContain('- **The last test run:** none');
    expect(body).toContain('_No review: the run ended before the reviewer saw the change._');
  });
});
