import type { MessagesRequest } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClients } from './clients.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { runTask } from './run-task.ts';
import { approve, type RunnerHarness, startRunnerHarness, toolResults } from './testing/runner-harness.ts';
import { use } from './testing/scripted-coder.ts';

describe('runTask verifies a submission before the review', () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(() => h.close());

  async function run(contextOverrides = {}) {
    const config = loadConfig(h.directEnv(await h.writeContext(contextOverrides), h.workDir()));
    const logger = createLogger({ level: 'silent', name: 'test' });
    return runTask({ config, logger, ...apiClients(config) });
  }

  it('sends a red test run back to the coder in the same round, and the green evidence to the reviewer and the PR', async () => {
    h.anthropic.enqueue(
      // A wrong fix, claimed to pass.
      use('edit_file', { path: 'src/pricing.js', old_text: 'price * percent;', new_text: 'price * percent / 10;' }),
      use('submit_changes', { summary: 'Fix the discount\n\nAll tests pass.' }),
      use('edit_file', {
        path: 'src/pricing.js',
        old_text: 'price * percent / 10;',
        new_text: 'price * (percent / 100);',
      }),
      use('submit_changes', { summary: 'Apply the discount as a percentage\n\nRan npm test: passes.' }),
    );
    h.openai.enqueue(approve());
    const { result } = await run({ issue_id: 'SHOP-30' });
    expect(result).toMatchObject({ status: 'pr_opened', review_rounds: 1, turns: 4 });

    // The first submission's result is the runner's red test run, read in the same round.
    const refused = toolResults(h).find((r) => r.startsWith('Not submitted'));
    expect(refused).toMatch(
      /^Not submitted: the runner ran the project's tests itself, `npm test`, and they failed \(exit code 1\)/,
    );
    expect(refused).toMatch(/ℹ fail [1-9]/);
    const third = h.anthropic.received('/v1/messages')[2]?.json as MessagesRequest;
    expect(JSON.stringify(third.messages.at(-1))).toContain('"is_error":true');

    // Only the green submission was reviewed, with the runner's evidence.
    const reviews = h.openai.received('/v1/chat/completions');
    expect(reviews).toHaveLength(1);
    const review = JSON.stringify(reviews[0]?.json);
    expect(review).toContain("## The runner's own test run (not the author's claim)");
    expect(review).toContain('The runner ran `npm test` after the submission: passed (exit code 0).');
    expect(review).toMatch(/ℹ pass 3\\nℹ fail 0/);

    const body = h.github.pulls('acme', 'sample-shop').find((p) => p.head === 'fix/SHOP-30')?.body ?? '';
    expect(body).toContain(
      "## Evidence: the runner's test run\n\nThe runner ran `npm test` after the submission: passed (exit code 0).\n\n```text\n",
    );
  });

  it("runs the routing entry's test_command instead of the detected one", async () => {
    h.anthropic.enqueue(
      use('edit_file', { path: 'src/pricing.js', old_text: 'price * percent;', new_text: 'price * (percent / 100);' }),
      use('submit_changes', { summary: 'Apply the discount as a percentage' }),
    );
    h.openai.enqueue(approve());
    const { result } = await run({ issue_id: 'SHOP-31', test_command: 'node --test test/*.test.js' });
    expect(result.status).toBe('pr_opened');
    expect(JSON.stringify(h.openai.received('/v1/chat/completions').at(-1)?.json)).toContain(
      'The runner ran `node --test test/*.test.js` after the submission: passed',
    );
  });
});
