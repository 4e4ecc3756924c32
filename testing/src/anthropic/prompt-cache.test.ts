import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeAnthropic } from './fake-anthropic.ts';

const model = 'claude-sonnet-4-6';
const ephemeral = { type: 'ephemeral' } as const;
const tools: Anthropic.Tool[] = [
  {
    name: 'read_file',
    description: 'Read one file of the repository and return its text. '.repeat(4),
    input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
    cache_control: ephemeral,
  },
];
const system: Anthropic.TextBlockParam[] = [
  {
    type: 'text',
    text: 'You are a careful engineer who fixes one bug at a time. '.repeat(10),
    cache_control: ephemeral,
  },
];

/** A user turn whose last block carries the moving breakpoint. */
function userTurn(text: string): Anthropic.MessageParam {
  return { role: 'user', content: [{ type: 'text', text, cache_control: ephemeral }] };
}

/** Drops the breakpoint from earlier turns, as a client does when it moves the breakpoint forward. */
function withoutBreakpoints(messages: Anthropic.MessageParam[]): Anthropic.MessageParam[] {
  return messages.map((m) =>
    typeof m.content === 'string'
      ? m
      : {
          ...m,
          content: m.content.map((block) => {
            const { cache_control: _dropped, ...rest } = block as Anthropic.TextBlockParam;
            return rest as Anthropic.ContentBlockParam;
          }),
        },
  ) as Anthropic.MessageParam[];
}

let clock: number;
let fake: FakeAnthropic;
let client: Anthropic;

beforeEach(async () => {
  clock = 1_000_000;
  fake = await FakeAnthropic.start({ minCacheableTokens: 100, now: () => clock });
  fake.setHandler(() => ({ content: [{ type: 'text', text: 'Looked at it; here is the next step.' }] }));
  client = new Anthropic({ baseURL: fake.url, apiKey: fake.apiKey, maxRetries: 0 });
});
afterEach(() => fake.close());

const send = (messages: Anthropic.MessageParam[], extra: Partial<Anthropic.MessageCreateParamsNonStreaming> = {}) =>
  client.messages.create({ model, max_tokens: 256, tools, system, messages, ...extra });

describe('FakeAnthropic prompt caching', () => {
  it('counts tokens by the stated estimate: ceil(UTF-8 bytes of the block JSON / 4)', async () => {
    const message = await client.messages.create({
      model,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(message.usage.input_tokens).toBe(Math.ceil('{"type":"text","text":"hello"}'.length / 4));
    expect(message.usage.cache_read_input_tokens).toBe(0);
    expect(message.usage.cache_creation_input_tokens).toBe(0);
  });

  it('over a conversation, each request reads what the one before wrote', async () => {
    const history: Anthropic.MessageParam[] = [userTurn('The price with a discount is wrong. '.repeat(5))];
    const first = await send(history);
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(0);

    history.push({ role: 'assistant', content: first.content });
    const second = await send([...withoutBreakpoints(history), userTurn('Look at src/pricing.js')]);
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(second.usage.cache_creation_input_tokens).toBeGreaterThan(0);

    // Nothing after the last breakpoint: every token is either read or written.
    expect(second.usage.input_tokens).toBe(0);
    const total = (u: Anthropic.Usage) =>
      u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);
    expect(total(second.usage)).toBeGreaterThan(total(first.usage));

    const billed = fake.billedInputTokens();
    const expected = [first.usage, second.usage].reduce(
      (sum, u) =>
        sum + u.input_tokens + 0.1 * (u.cache_read_input_tokens ?? 0) + 1.25 * (u.cache_creation_input_tokens ?? 0),
      0,
    );
    expect(billed).toBeCloseTo(expected, 6);
    expect(fake.usageLog.map((u) => u.cache_read_input_tokens)).toEqual([0, second.usage.cache_read_input_tokens]);
  });

  it('reads nothing once the entries expired, and refreshes an entry on every hit', async () => {
    const history = [userTurn('Why does the test fail? '.repeat(8))];
    const first = await send(history);
    clock += 4 * 60_000;
    const hit = await send(history);
    expect(hit.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    clock += 4 * 60_000; // 8 minutes after the write, 4 after the refreshing hit
    const stillHit = await send(history);
    expect(stillHit.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    clock += 6 * 60_000;
    const miss = await send(history);
    expect(miss.usage.cache_read_input_tokens).toBe(0);
    expect(miss.usage.cache_creation_input_tokens).toBe(first.usage.cache_creation_input_tokens);
  });

  it('looks back at most 20 blocks from a breakpoint for an earlier entry', async () => {
    const history: Anthropic.MessageParam[] = [userTurn('Start here. '.repeat(20))];
    const first = await send(history);
    const prefix = await send([{ role: 'user', content: [{ type: 'text', text: 'x' }] }]);
    const systemPrefix = prefix.usage.cache_read_input_tokens ?? 0; // tools and system were cached by the first request
    expect(systemPrefix).toBeGreaterThan(0);

    history.push({ role: 'assistant', content: first.content });
    const many = (n: number): Anthropic.MessageParam => ({
      role: 'user',
      content: Array.from({ length: n }, (_, i) => ({ type: 'text' as const, text: `note ${i}` })).concat([
        { type: 'text', text: 'end', cache_control: ephemeral } as never,
      ]),
    });
    // The assistant turn and 19 + 1 new blocks: the old breakpoint is 21 blocks back, out of reach.
    const far = await send([...withoutBreakpoints(history), many(19)]);
    expect(far.usage.cache_read_input_tokens).toBe(systemPrefix);
    // 18 + 1 new blocks: exactly 20 back, still found.
    const near = await send([...withoutBreakpoints(history), many(18)]);
    expect(near.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
  });

  it('keeps the tools and system cache but not the messages cache when tool_choice changes', async () => {
    const history = [userTurn('Explain the failure. '.repeat(10))];
    const first = await send(history);
    const other = await send(history, { tool_choice: { type: 'auto' } });
    expect(other.usage.cache_read_input_tokens).toBeGreaterThan(0);
    expect(other.usage.cache_read_input_tokens).toBeLessThan(first.usage.cache_creation_input_tokens ?? 0);
  });

  it('caches nothing below the minimum cacheable length, and separates 1h writes', async () => {
    const strict = await FakeAnthropic.start({ minCacheableTokens: 1_000_000 });
    strict.enqueue({ content: [{ type: 'text', text: 'ok' }] });
    const small = new Anthropic({ baseURL: strict.url, apiKey: strict.apiKey, maxRetries: 0 });
    const message = await small.messages.create({ model, max_tokens: 64, tools, system, messages: [userTurn('hi')] });
    expect(message.usage.cache_creation_input_tokens).toBe(0);
    expect(message.usage.cache_read_input_tokens).toBe(0);
    await strict.close();

    const long = await send([userTurn('hi')], {
      system: [{ ...(system[0] as Anthropic.TextBlockParam), cache_control: { type: 'ephemeral', ttl: '1h' } }],
      tools: [{ ...(tools[0] as Anthropic.Tool), cache_control: { type: 'ephemeral', ttl: '1h' } }],
    });
    expect(long.usage.cache_creation?.ephemeral_1h_input_tokens).toBeGreaterThan(0);
    expect(long.usage.cache_creation?.ephemeral_5m_input_tokens).toBeGreaterThan(0);
    expect(
      (long.usage.cache_creation?.ephemeral_1h_input_tokens ?? 0) +
        (long.usage.cache_creation?.ephemeral_5m_input_tokens ?? 0),
    ).toBe(long.usage.cache_creation_input_tokens);
  });
});
