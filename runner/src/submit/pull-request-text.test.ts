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

  it('writes the summary, issue link, verdict, tests, token usage and the anton line', () => {
    const body = pullRequestBody({
      issueId: 'SHOP-7',
      issueUrl: 'https://acme.atlassian.net/browse/SHOP-7',
      summary: 'Apply the discount as a percentage\n\nDetails.',
      review: { model: 'gpt-4o', rounds: 2, reason: 'Fixes the formula and adds a test.' },
      testRuns: [
        { command: 'node --test test/', exitCode: 1, timedOut: false },
        { command: 'node --test', exitCode: 0, timedOut: false },
        { command: 'npm test', exitCode: null, timedOut: true },
      ],
      coder: { model: 'claude-sonnet-5-5', turns: 9 },
      usage,
    });
    expect(body).toContain('## Summary\n\nApply the discount as a percentage\n\nDetails.');
    expect(body).toContain('**Issue:** [SHOP-7](https://acme.atlassian.net/browse/SHOP-7)');
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
      review: { model: 'gpt-4o', rounds: 1, reason: 'ok' },
      testRuns: [],
      coder: { model: 'm', turns: 1 },
      usage,
    });
    expect(body).toContain('**Issue:** SHOP-7\n');
    expect(body).toContain('_The agent ran no test command._');
    expect(body).toContain('after 1 review round:');
  });
});
