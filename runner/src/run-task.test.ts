import type { MessagesRequest } from '@anton/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiClients } from './clients.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { runTask } from './run-task.ts';
import { approve, type RunnerHarness, reject, startRunnerHarness } from './testing/runner-harness.ts';
import { sampleFixScript, use } from './testing/scripted-coder.ts';
import { git } from './testing/temp-dir.ts';

const FIXED_LINE = '  const discounted = price - price * (percent / 100);';

describe('runTask', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.anthropic.requests.length = 0;
    h.openai.requests.length = 0;
  });

  async function run(env: Record<string, string> = {}, contextOverrides = {}) {
    const workDir = h.workDir();
    const contextPath = await h.writeContext(contextOverrides);
    const config = loadConfig({ ...h.directEnv(contextPath, workDir), ...env });
    const logger = createLogger({ level: 'silent', name: 'test' });
    return { ...(await runTask({ config, logger, ...apiClients(config) })), workDir };
  }
  const userTurns = () =>
    h.anthropic.received('/v1/messages').map((r) => JSON.stringify((r.json as MessagesRequest).messages.at(-1)));
  const branchSha = (branch: string) =>
    git(h.sample.bareDir, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`).catch(() => undefined);

  it('fixes the sample project: pushes exactly the change and opens one pull request', async () => {
    h.anthropic.enqueue(...sampleFixScript());
    h.openai.enqueue(approve());
    const { result, exitCode } = await run(
      { TASK_ID: '4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d' },
      {
        task_description: 'Discounts are wrong',
        task: {
          task_id: '4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d',
          source: 'jira',
          external_id: 'SHOP-7',
          title: 'Discount gives a negative price',
          priority: 'P2',
          raw_payload: {},
          created_at: '2025-01-15T10:30:00Z',
          url: 'https://acme.atlassian.net/browse/SHOP-7',
        },
      },
    );

    expect(exitCode).toBe(0);
    expect(result).toMatchObject({
      status: 'pr_opened',
      task_id: '4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d',
      pr_url: 'https://github.com/acme/sample-shop/pull/1',
      branch: 'fix/SHOP-7',
      turns: 8,
      review_rounds: 1,
    });
    expect(result.usage.coder.output_tokens).toBeGreaterThan(0);
    expect(result.usage.reviewer.input_tokens).toBeGreaterThan(0);
    expect(result.cost_usd).toBeGreaterThan(0);

    // The branch holds exactly the one-line fix, committed as anton-bot in the fix(<issue>) form.
    const diff = await git(h.sample.bareDir, 'diff', '--unified=0', 'main', 'fix/SHOP-7');
    expect(diff.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toEqual([
      '-  const discounted = price - price * percent;',
      `+${FIXED_LINE}`,
    ]);
    expect(await git(h.sample.bareDir, 'log', '-1', '--format=%an <%ae>%n%s', 'fix/SHOP-7')).toBe(
      'anton-bot <anton-bot@users.noreply.github.com>\nfix(SHOP-7): Apply the discount as a percentage',
    );

    const creates = h.github.received('/repos/acme/sample-shop/pulls', 'POST');
    expect(creates).toHaveLength(1);
    expect(creates[0]?.json).toMatchObject({
      head: 'fix/SHOP-7',
      base: 'main',
      title: 'fix(SHOP-7): Apply the discount as a percentage',
      draft: true,
    });
    const body = String((creates[0]?.json as { body?: string } | undefined)?.body);
    expect(body).toContain('applyDiscount multiplied by the percentage instead of its fraction.');
    expect(body).toContain('**Source:** [SHOP-7](https://acme.atlassian.net/browse/SHOP-7)');
    expect(body).toContain(`<summary>Tokens and cost: $${result.cost_usd.toFixed(4)} of a $3.00 budget</summary>`);
    expect(h.github.pulls('acme', 'sample-shop')[0]?.draft).toBe(true);
    expect(body).toContain('Approved by gpt-4o after 1 review round: Fixes the formula; tests pass.');
    expect(body).toContain('- `node --test test/`: failed (exit code 1)\n- `node --test`: passed');
    expect(body).toMatch(/\| coder \(claude-sonnet-5-5, 8 turns\) \| [\d,]+ \| [\d,]+ \| [\d,]+ \| [\d,]+ \|/);
    expect(body).toContain('Automated by anton');

    // The reviewer saw the staged diff.
    const review = JSON.stringify(h.openai.received('/v1/chat/completions').at(-1)?.json);
    expect(review).toContain('price * (percent / 100)');
    expect(h.anthropic.failures).toEqual([]);
    expect(h.openai.failures).toEqual([]);
  });

  it('updates the open pull request on a retried run instead of opening a second one', async () => {
    h.anthropic.enqueue(...sampleFixScript('Use the percentage as a fraction'));
    h.openai.enqueue(approve('Still right.'));
    const { result, exitCode } = await run();
    expect(exitCode).toBe(0);
    expect(result.pr_url).toBe('https://github.com/acme/sample-shop/pull/1');
    const pulls = h.github.pulls('acme', 'sample-shop');
    expect(pulls).toHaveLength(1);
    expect(pulls[0]?.title).toBe('fix(SHOP-7): Use the percentage as a fraction');
    expect(pulls[0]?.headSha).toBe(await branchSha('fix/SHOP-7'));
  });

  it('sends a rejection back to the coder and opens the pull request after approval', async () => {
    h.anthropic.enqueue(
      use('edit_file', { path: 'src/pricing.js', old_text: 'price * percent;', new_text: 'price * (percent / 100);' }),
      use('submit_changes', { summary: 'Fix the discount formula' }),
      use('write_file', { path: 'test/discount.test.js', content: "import 'node:test';\n" }),
      use('submit_changes', { summary: 'Fix the discount formula and add a test' }),
    );
    h.openai.enqueue(reject('No regression test.', ['add a test for 25%']), approve('Now with a test.'));
    const { result, exitCode } = await run({}, { issue_id: 'SHOP-8' });

    expect(exitCode).toBe(0);
    expect(result).toMatchObject({ status: 'pr_opened', review_rounds: 2, turns: 4, branch: 'fix/SHOP-8' });
    const third = userTurns()[2] ?? '';
    expect(third).toContain('The reviewer rejected your change.');
    expect(third).toContain('Reason: No regression test.');
    expect(third).toContain('- add a test for 25%');
    // The second review saw the new test file: the staged diff includes new files.
    const secondReview = JSON.stringify(h.openai.received('/v1/chat/completions').at(-1)?.json);
    expect(secondReview).toContain('+++ b/test/discount.test.js');
    expect(h.github.pulls('acme', 'sample-shop').find((p) => p.head === 'fix/SHOP-8')).toBeDefined();
  });

  it('keeps the work after MAX_REVIEW_REJECTIONS rejections: a draft pull request with the open points', async () => {
    h.anthropic.setHandler(() => use('submit_changes', { summary: 'Try again with the same change' }));
    h.anthropic.enqueue(
      use('edit_file', { path: 'src/pricing.js', old_text: 'price * percent;', new_text: 'price * percent / 100;' }),
    );
    h.openai.enqueue(reject('Wrong.'), reject('Still wrong.', ['round the result']));
    const { result, exitCode } = await run({ MAX_REVIEW_REJECTIONS: '2', PR_DRAFT: 'false' }, { issue_id: 'SHOP-9' });
    expect(exitCode).toBe(0);
    expect(result).toMatchObject({
      status: 'draft_opened',
      review_rounds: 2,
      reason: 'rejected 2 times; last: Still wrong.',
      pr_url: expect.stringMatching(/\/pull\/\d+$/),
    });
    expect(await git(h.sample.bareDir, 'diff', 'main', 'fix/SHOP-9')).toContain(
      '+  const discounted = price - price * percent / 100;',
    );
    const pull = h.github.pulls('acme', 'sample-shop').find((p) => p.head === 'fix/SHOP-9');
    // Unfinished work is a draft whatever PR_DRAFT says.
    expect(pull?.draft).toBe(true);
    expect(pull?.body).toContain('## Unfinished');
    expect(pull?.body).toContain('  - round the result');
    expect(pull?.body).toContain('Not approved by gpt-4o after 2 review rounds: Still wrong.');
  });

  it('fails without a review when the coder never submits within the turn limit and changed nothing', async () => {
    h.anthropic.setHandler(() => use('list_dir', {}));
    const { result, exitCode } = await run({ MAX_CODER_TURNS: '4' }, { issue_id: 'SHOP-10' });
    expect(exitCode).toBe(2);
    expect(result).toMatchObject({
      status: 'failed',
      turns: 4,
      review_rounds: 0,
      reason: 'the coder did not call submit_changes within 4 turns, with no change made',
    });
    expect(h.openai.requests).toHaveLength(0);
    // The last turn of the round asked for a submission.
    expect(userTurns().at(-1)).toContain('This is the last turn of this round: call submit_changes now');
    expect(await branchSha('fix/SHOP-10')).toBeUndefined();
  });

  it('pushes a change the coder never submitted as a draft when the turns run out', async () => {
    h.anthropic.setHandler(() => use('list_dir', {}));
    h.anthropic.enqueue(
      use('edit_file', { path: 'src/pricing.js', old_text: 'price * percent;', new_text: 'price * (percent / 100);' }),
      use('run_shell_command', { command: 'node --test' }),
    );
    const { result, exitCode } = await run({ MAX_CODER_TURNS: '4' }, { issue_id: 'SHOP-13' });
    expect(exitCode).toBe(0);
    expect(result).toMatchObject({
      status: 'draft_opened',
      review_rounds: 0,
      reason: 'the coder did not call submit_changes within 4 turns',
    });
    expect(h.openai.requests).toHaveLength(0);
    const pull = h.github.pulls('acme', 'sample-shop').find((p) => p.head === 'fix/SHOP-13');
    expect(pull?.draft).toBe(true);
    expect(pull?.body).toContain('- **The last test run:** `node --test`: passed');
    expect(pull?.body).toContain("- **The reviewer's open points:** not reviewed");
    expect(await git(h.sample.bareDir, 'diff', 'main', 'fix/SHOP-13')).toContain(FIXED_LINE);
  });

  it('ends with no_changes, not a review, when the coder submits an empty diff', async () => {
    h.anthropic.enqueue(use('submit_changes', { summary: 'Nothing needed changing' }));
    const { result, exitCode } = await run({}, { issue_id: 'SHOP-11' });
    expect(exitCode).toBe(2);
    expect(result.status).toBe('no_changes');
    expect(h.openai.requests).toHaveLength(0);
  });

  it('reviews with OPENAI_FALLBACK_MODEL when OpenAI no longer serves OPENAI_MODEL', async () => {
    h.anthropic.enqueue(...sampleFixScript());
    h.openai.enqueue(approve());
    const { result } = await run(
      { OPENAI_MODEL: 'gpt-4o-2024-05-13', OPENAI_FALLBACK_MODEL: 'gpt-4o' },
      { issue_id: 'SHOP-20' },
    );
    expect(result.status).toBe('pr_opened');
    expect(h.openai.received('/v1/chat/completions').map((r) => (r.json as { model: string }).model)).toEqual([
      'gpt-4o-2024-05-13',
      'gpt-4o',
    ]);
    const pull = h.github.pulls('acme', 'sample-shop').find((p) => p.head === 'fix/SHOP-20');
    expect(pull?.body).toContain('Approved by gpt-4o after 1 review round');
  });

  it('fails permanently, without a retry loop, when the reviewer model is gone and no fallback is set', async () => {
    h.anthropic.enqueue(...sampleFixScript());
    const { result, exitCode } = await run({ OPENAI_MODEL: 'gpt-4o-2024-05-13' }, { issue_id: 'SHOP-21' });
    expect(exitCode).toBe(2);
    expect(result).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(
        /the reviewer model gpt-4o-2024-05-13 is not available .*model `gpt-4o-2024-05-13` does not exist.*set OPENAI_MODEL to a current model/,
      ),
    });
    expect(h.openai.received('/v1/chat/completions')).toHaveLength(1);
  });

  it('fails at once, exit 2, on an invalid context', async () => {
    const { result, exitCode } = await run({}, { repo_url: 'not a url' });
    expect(exitCode).toBe(2);
    expect(result).toMatchObject({
      status: 'failed',
      turns: 0,
      reason: expect.stringMatching(/invalid task context.*repo_url/),
    });
  });

  it('fails retryably (exit 1) when Claude keeps failing', async () => {
    h.anthropic.serverError(1);
    const { result, exitCode } = await run({}, { issue_id: 'SHOP-12' });
    expect(exitCode).toBe(1);
    expect(result).toMatchObject({ status: 'failed', reason: expect.stringMatching(/500/) });
  });
});
