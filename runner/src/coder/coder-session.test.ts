import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSampleRepo, FakeAnthropic, type MessagesRequest, type SampleRepo } from '@anton/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { anthropicMessages } from '../clients.ts';
import { sampleFixScript, say, use } from '../testing/scripted-coder.ts';
import { makeTempDir, type TempDir } from '../testing/temp-dir.ts';
import { cloneWithTools } from '../testing/tool-context.ts';
import { CODER_TOOLS } from '../tools/registry.ts';
import { CoderSession, type CoderSessionOptions } from './coder-session.ts';
import type { CoderEvent } from './events.ts';
import { REMINDER_MESSAGE } from './system-prompt.ts';

type Block = { type: string; text?: string; content?: unknown; is_error?: boolean; cache_control?: unknown };

/** The blocks of the last user turn of a request the fake received. */
function lastUserBlocks(request: MessagesRequest): Block[] {
  const last = request.messages.at(-1);
  return (typeof last?.content === 'string' ? [{ type: 'text', text: last.content }] : last?.content) as Block[];
}

describe('CoderSession', () => {
  let fake: FakeAnthropic;
  let sample: SampleRepo;
  let tmp: TempDir;
  let options: CoderSessionOptions;
  let events: CoderEvent[];
  const requests = () => fake.received('/v1/messages').map((r) => r.json as MessagesRequest);

  beforeAll(async () => {
    fake = await FakeAnthropic.start({ minCacheableTokens: 256 });
    sample = await createSampleRepo();
  });
  afterAll(async () => {
    await fake.close();
    await sample.cleanup();
  });
  beforeEach(async () => {
    tmp = await makeTempDir();
    const { toolContext } = await cloneWithTools(sample.url, tmp.path, {
      timeoutMs: 30_000,
      limits: { maxProcesses: 4096, maxFileBytes: 1 << 26, cpuSeconds: 60 },
    });
    events = [];
    fake.requests.length = 0;
    fake.usageLog.length = 0;
    fake.clearCache();
    options = {
      createMessage: anthropicMessages(
        { baseURL: fake.url, apiKey: fake.apiKey },
        { maxRetries: 0, timeoutMs: 30_000 },
      ),
      model: 'claude-sonnet-5-5',
      maxTokens: 4096,
      maxTurns: 15,
      systemPrompt: `You fix bugs.\n${'Context. '.repeat(400)}`,
      tools: CODER_TOOLS,
      toolContext,
      onEvent: (event) => events.push(event),
    };
  });
  afterEach(() => tmp.cleanup());

  it('does not run a tool call cut off at max_tokens: it says so and the session goes on', async () => {
    // The API's tool_use block of an answer stopped by max_tokens may be incomplete (a write_file
    // whose content was cut short): running it would write half a file.
    fake.enqueue(
      {
        content: [{ type: 'tool_use', name: 'write_file', input: { path: 'src/pricing.js', content: 'export const' } }],
        stop_reason: 'max_tokens',
      },
      use('submit_changes', { summary: 'Nothing written' }),
    );
    const session = new CoderSession(options);
    const before = await readFile(join(options.toolContext.guard.root, 'src/pricing.js'), 'utf8');
    expect(await session.runRound()).toEqual({ kind: 'submitted', summary: 'Nothing written' });
    expect(await readFile(join(options.toolContext.guard.root, 'src/pricing.js'), 'utf8')).toBe(before);
    const second = requests()[1] as MessagesRequest;
    expect(second.messages.at(-2)?.content).not.toContainEqual(expect.objectContaining({ type: 'tool_use' }));
    expect(lastUserBlocks(second)).toEqual([
      expect.objectContaining({
        type: 'text',
        text: expect.stringMatching(/cut off at the output limit \(max_tokens\)/),
      }),
    ]);
    expect(fake.failures).toEqual([]);
  });

  it('clears old tool results and retries when the prompt is too long, instead of failing', async () => {
    const small = await FakeAnthropic.start({ minCacheableTokens: 256, contextWindowTokens: 14_000 });
    try {
      const big = { command: 'node -e "process.stdout.write(\'x\'.repeat(16000))"' };
      small.enqueue(
        ...Array.from({ length: 4 }, () => use('run_shell_command', big)),
        use('submit_changes', { summary: 'Done with a long session' }),
      );
      const session = new CoderSession({
        ...options,
        createMessage: anthropicMessages(
          { baseURL: small.url, apiKey: small.apiKey },
          { maxRetries: 0, timeoutMs: 30_000 },
        ),
      });
      expect(await session.runRound()).toEqual({ kind: 'submitted', summary: 'Done with a long session' });
      expect(events.some((e) => e.type === 'compacted')).toBe(true);
      const sent = small.received('/v1/messages').map((r) => r.json as MessagesRequest);
      const cleared = JSON.stringify(sent.at(-1)?.messages).split('[cleared: an old tool result').length - 1;
      expect(cleared).toBeGreaterThan(0);
      expect(small.failures).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('runs the scripted fix of the sample project to submission', async () => {
    fake.enqueue(...sampleFixScript());
    const session = new CoderSession(options);
    const outcome = await session.runRound();

    expect(outcome).toEqual({
      kind: 'submitted',
      summary: expect.stringMatching(/^Apply the discount as a percentage/),
    });
    expect(session.turns).toBe(8);
    expect(await readFile(join(options.toolContext.guard.root, 'src/pricing.js'), 'utf8')).toContain(
      'price - price * (percent / 100);',
    );
    // What the model saw: the failing run, then the passing one.
    const sent = requests();
    const failing = lastUserBlocks(sent[4] as MessagesRequest)[0];
    expect(failing).toMatchObject({ type: 'tool_result' });
    expect(String(failing?.content)).toMatch(/fail 1[\s\S]*Exit code 1/);
    const passing = lastUserBlocks(sent[6] as MessagesRequest)[0];
    expect(String(passing?.content)).toMatch(/pass 3[\s\S]*Exit code 0$/);
    expect(session.shellCommands.map((c) => [c.command, c.exitCode])).toEqual([
      ['node --test test/', 1],
      ['node --test', 0],
    ]);
    expect(events.filter((e) => e.type === 'tool').map((e) => e.type === 'tool' && e.name)).toEqual([
      'list_dir',
      'search',
      'read_file',
      'run_shell_command',
      'edit_file',
      'run_shell_command',
      'git_status',
      'submit_changes',
    ]);
    expect(fake.failures).toEqual([]);
  });

  it('reminds the model when it stops without a tool call, and does not end until it submits', async () => {
    fake.enqueue(
      say('I think I am done.'),
      say('Really done.'),
      use('submit_changes', { summary: 'Nothing to do here.' }),
    );
    const outcome = await new CoderSession(options).runRound();
    expect(outcome.kind).toBe('submitted');
    const sent = requests();
    expect(sent).toHaveLength(3);
    expect(lastUserBlocks(sent[1] as MessagesRequest)[0]?.text).toBe(REMINDER_MESSAGE);
    expect(events.filter((e) => e.type === 'reminder')).toHaveLength(2);
  });

  it('stops at the turn limit without a submission', async () => {
    fake.setHandler(() => use('list_dir', {}));
    const session = new CoderSession({ ...options, maxTurns: 3 });
    expect(await session.runRound()).toEqual({ kind: 'turn_limit' });
    expect(session.turns).toBe(3);
    expect(requests()).toHaveLength(3);
    fake.setHandler(() => say('unused'));
  });

  it('hands bad tool calls back as errors and carries on', async () => {
    fake.enqueue(
      use('read_file', { path: 42 }),
      use('write_file', { path: '../outside', content: 'x' }),
      use('submit_changes', { summary: 'Done after errors.' }),
    );
    expect((await new CoderSession(options).runRound()).kind).toBe('submitted');
    const sent = requests();
    expect(lastUserBlocks(sent[1] as MessagesRequest)[0]).toMatchObject({
      is_error: true,
      content: expect.stringMatching(/Invalid arguments/),
    });
    expect(lastUserBlocks(sent[2] as MessagesRequest)[0]).toMatchObject({
      is_error: true,
      content: expect.stringMatching(/outside/),
    });
  });

  it('gives the rejection to the model in the next round, after the submit result', async () => {
    fake.enqueue(
      use('submit_changes', { summary: 'First attempt here.' }),
      use('submit_changes', { summary: 'Second attempt here.' }),
    );
    const session = new CoderSession(options);
    await session.runRound();
    session.addRejection('The fix has no test.', ['add a test for 25%']);
    expect(await session.runRound()).toEqual({ kind: 'submitted', summary: 'Second attempt here.' });
    const [result, feedback] = lastUserBlocks(requests()[1] as MessagesRequest);
    expect(result).toMatchObject({ type: 'tool_result', content: 'Changes submitted for review.' });
    expect(feedback?.text).toMatch(
      /rejected your change\.\nReason: The fix has no test\.\nProblems:\n- add a test for 25%/,
    );
    expect(session.turns).toBe(2);
  });

  it('marks tools, system and the moving end of the conversation for caching, and reads the cache', async () => {
    fake.enqueue(...sampleFixScript());
    const session = new CoderSession(options);
    await session.runRound();
    const sent = requests();
    for (const request of sent) {
      const marked = JSON.stringify(request).match(/"cache_control"/g) ?? [];
      expect(marked.length).toBeLessThanOrEqual(4);
      expect(request.tools?.at(-1)).toHaveProperty('cache_control');
      expect((request.system as Block[]).at(-1)).toHaveProperty('cache_control');
      expect(lastUserBlocks(request).at(-1)).toHaveProperty('cache_control');
    }
    const usage = session.usagePerTurn;
    expect(usage).toHaveLength(8);
    expect(usage[0]?.cache_creation_input_tokens).toBeGreaterThan(0);
    for (const turn of usage.slice(1)) expect(turn.cache_read_input_tokens).toBeGreaterThan(turn.input_tokens);
    expect(session.usage.cache_read_input_tokens).toBe(usage.reduce((sum, u) => sum + u.cache_read_input_tokens, 0));
  });
});
