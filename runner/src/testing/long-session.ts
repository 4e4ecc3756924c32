import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunnerContext, TokenUsage } from '@anton/contracts';
import { createSampleRepo, FakeAnthropic, SAMPLE_FIX, type ScriptedReply } from '@anton/testing';
import { anthropicMessages } from '../clients.ts';
import { CoderSession, type CreateMessage } from '../coder/coder-session.ts';
import { buildSystemPrompt } from '../coder/system-prompt.ts';
import { shellLimits } from '../shell/shell-limits.ts';
import { CODER_TOOLS } from '../tools/registry.ts';
import { use } from './scripted-coder.ts';
import { makeTempDir } from './temp-dir.ts';
import { cloneWithTools } from './tool-context.ts';

export interface LongSessionCost {
  turns: number;
  /** Input tokens as billed with prompt caching (reads at 0.1, 5-minute writes at 1.25), as FakeAnthropic counts them. */
  billedInputTokens: number;
  /** What the same prompts would have cost without caching: every prompt token at full price. */
  uncachedInputTokens: number;
  outputTokens: number;
  usagePerTurn: TokenUsage[];
}

export interface LongSessionOptions {
  turns?: number;
  /**
   * The original's loop, as the benchmark's baseline: no prompt-cache breakpoints (the whole
   * history resent at full price every turn) and the fix written as the whole file with
   * write_file instead of an edit_file of the changed text.
   */
  original?: boolean;
}

const CONTEXT: RunnerContext = {
  repo_url: 'https://github.com/acme/sample-shop.git',
  base_branch: 'main',
  issue_id: 'SHOP-7',
  task_description:
    'applyDiscount(200, 25) returns -4800 instead of 150. Customers see negative prices in the cart when a ' +
    'percentage coupon is applied. Steps: add a 25% coupon to a cart of 200 EUR. Expected 150 EUR.',
  plan: {
    template_id: 'react-frontend',
    complexity: 'low',
    required_skills: ['javascript', 'node-test'],
    context_summary: 'The discount formula in src/pricing.js multiplies by the percentage instead of its fraction.',
  },
};

/** A coder that looks around a lot before it fixes the bug: `turns` model calls, the last one submitting. */
function wanderingScript(turns: number, fix: ScriptedReply): ScriptedReply[] {
  const explore: ScriptedReply[] = [
    use('list_dir', { path: '.' }, 'Let me look at the repository layout first.'),
    use('read_file', { path: 'package.json' }),
    use('list_dir', { path: 'src' }),
    use('search', { pattern: 'applyDiscount' }),
    use('read_file', { path: 'src/pricing.js' }),
    use('read_file', { path: 'test/pricing.test.js' }),
    use('run_shell_command', { command: 'node --test' }),
    use('search', { pattern: 'percent' }),
    use('read_file', { path: 'README.md' }),
    use('git_status', {}),
  ];
  const script: ScriptedReply[] = [];
  for (let i = 0; script.length < turns - 3; i++) script.push(explore[i % explore.length] as ScriptedReply);
  script.push(
    fix,
    use('run_shell_command', { command: 'node --test' }),
    use('submit_changes', { summary: 'Apply the discount as a percentage\n\nTests pass.' }),
  );
  return script.slice(-turns);
}

/**
 * Runs a scripted coder session of `turns` turns on the sample project against FakeAnthropic with
 * the runner's real prompt, tools and cache breakpoints, and returns what its input cost. The
 * runner's test records it; the benchmark reuses it to compare against its baseline.
 */
export async function measureLongSession({
  turns = 15,
  original = false,
}: LongSessionOptions = {}): Promise<LongSessionCost> {
  const fake = await FakeAnthropic.start();
  const sample = await createSampleRepo();
  const tmp = await makeTempDir('anton-long-session-');
  try {
    const { dir, toolContext } = await cloneWithTools(sample.url, tmp.path, {
      timeoutMs: 60_000,
      limits: shellLimits(60_000),
    });
    const fix = original
      ? use('write_file', {
          path: SAMPLE_FIX.file,
          content: (await readFile(join(dir, SAMPLE_FIX.file), 'utf8')).replace(SAMPLE_FIX.buggy, SAMPLE_FIX.fixed),
        })
      : use('edit_file', { path: SAMPLE_FIX.file, old_text: SAMPLE_FIX.buggy, new_text: SAMPLE_FIX.fixed });
    fake.enqueue(...wanderingScript(turns, fix));
    const createMessage = anthropicMessages(
      { baseURL: fake.url, apiKey: fake.apiKey },
      { maxRetries: 0, timeoutMs: 60_000 },
    );
    const session = new CoderSession({
      createMessage: original ? withoutCacheControl(createMessage) : createMessage,
      model: 'claude-sonnet-5-5',
      maxTokens: 8192,
      maxTurns: turns,
      systemPrompt: buildSystemPrompt(CONTEXT),
      tools: CODER_TOOLS,
      toolContext,
    });
    const outcome = await session.runRound();
    if (outcome.kind !== 'submitted' || fake.failures.length > 0) {
      throw new Error(`the long session did not run as scripted: ${outcome.kind} ${fake.failures.join('; ')}`);
    }
    const usagePerTurn = [...session.usagePerTurn];
    return {
      turns: session.turns,
      billedInputTokens: fake.billedInputTokens(),
      uncachedInputTokens: usagePerTurn.reduce(
        (sum, u) => sum + u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens,
        0,
      ),
      outputTokens: usagePerTurn.reduce((sum, u) => sum + u.output_tokens, 0),
      usagePerTurn,
    };
  } finally {
    await fake.close();
    await sample.cleanup();
    await tmp.cleanup();
  }
}

/** The same requests with every prompt-cache breakpoint removed. */
function withoutCacheControl(createMessage: CreateMessage): CreateMessage {
  return (params, options) =>
    createMessage(
      JSON.parse(JSON.stringify(params, (key, value) => (key === 'cache_control' ? undefined : value))),
      options,
    );
}
