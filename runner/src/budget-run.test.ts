import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MessagesRequest } from '@anton/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiClients } from './clients.ts';
import { CHECKPOINT_TURNS } from './coder/coder-session.ts';
import { loadConfig } from './config.ts';
import { loadProxyConfig } from './credential-proxy/config.ts';
import { createProxyServer } from './credential-proxy/server.ts';
import { createLogger } from './logger.ts';
import { newProxyKey } from './proxy-claim.ts';
import { runTask } from './run-task.ts';
import { approve, type RunnerHarness, startRunnerHarness } from './testing/runner-harness.ts';
import { sampleFixScript, use } from './testing/scripted-coder.ts';
import { git } from './testing/temp-dir.ts';

const FIX = { path: 'src/pricing.js', old_text: 'price * percent;', new_text: 'price * (percent / 100);' };
const FREE = JSON.stringify({ 'claude-sonnet-5-5': { input: 0, output: 0, cache_write: 0, cache_read: 0 } });

describe('the budget of a run', () => {
  let h: RunnerHarness;
  const logger = createLogger({ level: 'silent', name: 'budget-run' });
  beforeAll(async () => {
    h = await startRunnerHarness();
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.anthropic.requests.length = 0;
    h.openai.requests.length = 0;
  });
  const userTurns = () =>
    h.anthropic.received('/v1/messages').map((r) => JSON.stringify((r.json as MessagesRequest).messages.at(-1)));

  async function throughProxy(budgetUsd: string, runnerEnv: Record<string, string>, issueId: string) {
    const server: Server = createProxyServer(
      loadProxyConfig({ ...h.proxyEnv(), TASK_BUDGET_USD: budgetUsd }),
      createLogger({ level: 'silent', name: 'proxy' }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const config = loadConfig({
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: h.tmp.path,
        CONTEXT_PATH: await h.writeContext({ issue_id: issueId }),
        WORK_DIR: h.workDir(),
        CREDENTIAL_PROXY_URL: proxyUrl,
        API_MAX_RETRIES: '0',
        ...runnerEnv,
      });
      const proxyKey = newProxyKey();
      return await runTask({ config, logger, proxyKey, ...apiClients(config, proxyKey) });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('is enforced by the proxy even when the runner miscounts: the change so far becomes a draft pull request', async () => {
    // The runner is told every model is free, so it never asks for a last submission: only the
    // proxy's cap stops the loop.
    h.anthropic.setHandler(() => use('list_dir', {}));
    h.anthropic.enqueue(use('edit_file', FIX), use('run_shell_command', { command: 'node --test' }));
    const { result, exitCode } = await throughProxy('0.03', { MODEL_PRICES: FREE }, 'BUDGET-1');

    expect(exitCode).toBe(0);
    expect(result).toMatchObject({
      status: 'draft_opened',
      review_rounds: 0,
      reason: expect.stringMatching(/^the task's budget of \$0\.03 is spent/),
    });
    const calls = h.anthropic.received('/v1/messages').length;
    expect(calls).toBeGreaterThan(2);
    expect(calls).toBeLessThan(100);
    expect(result.turns).toBe(calls);
    expect(h.openai.requests).toHaveLength(0);
    expect(await git(h.sample.bareDir, 'diff', 'main', 'fix/BUDGET-1')).toContain('price * (percent / 100)');
    const pull = h.github.pulls('acme', 'sample-shop').find((p) => p.head === 'fix/BUDGET-1');
    expect(pull?.draft).toBe(true);
    expect(pull?.body).toContain("## Unfinished\n\nThis draft holds the change as it stood when the task's budget");
    expect(pull?.body).toContain('- **The last test run:** `node --test`: passed');
    expect(h.anthropic.failures).toEqual([]);
  });

  it('asks for one last submit_changes before the budget runs out, and reviews what it gets', async () => {
    let asked = false;
    h.anthropic.setHandler((request) => {
      const last = JSON.stringify(request.messages.at(-1));
      if (last.includes('The budget is nearly spent')) {
        asked = true;
        return use('submit_changes', { summary: 'Apply the discount as a percentage\n\nUnfinished: no new test.' });
      }
      return use('list_dir', {});
    });
    h.anthropic.enqueue(use('edit_file', FIX));
    h.openai.enqueue(approve());
    const { result, exitCode } = await throughProxy('0.04', {}, 'BUDGET-2');

    expect(asked).toBe(true);
    expect(exitCode).toBe(0);
    expect(result).toMatchObject({ status: 'pr_opened', review_rounds: 1 });
    expect(result.cost_usd).toBeGreaterThan(0.04 * 0.5);
    expect(result.cost_usd).toBeLessThanOrEqual(0.04 * 1.5);
    const turns = userTurns();
    expect(turns.some((t) => /Budget: \$0\.0\d of \$0\.04 spent.*Most of the budget is spent/.test(t))).toBe(true);
  });

  it('lets a 40-turn fix succeed under the default limits, telling the model its spend every 10 turns', async () => {
    h.anthropic.enqueue(...Array.from({ length: 32 }, () => use('list_dir', {})), ...sampleFixScript());
    h.openai.enqueue(approve());
    const contextPath = await h.writeContext({ issue_id: 'BUDGET-3' });
    const config = loadConfig(h.directEnv(contextPath, h.workDir()));
    const { result, exitCode } = await runTask({ config, logger, ...apiClients(config) });

    expect(exitCode).toBe(0);
    expect(result).toMatchObject({ status: 'pr_opened', turns: 40 });
    const turns = userTurns();
    expect(turns).toHaveLength(40);
    const checkpoints = turns.flatMap((t, i) => (/Budget: \$\d+\.\d\d of \$3\.00 spent/.test(t) ? [i] : []));
    // The user turn after turns 10, 20 and 30 (indexes 10, 20, 30).
    expect(checkpoints).toEqual([CHECKPOINT_TURNS, 2 * CHECKPOINT_TURNS, 3 * CHECKPOINT_TURNS]);
    expect(turns[10]).toContain('at most 90 more turns in this round');
    expect(result.cost_usd).toBeGreaterThan(0);
  });
});
