import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeAnthropic } from './fake-anthropic.ts';

const model = 'claude-sonnet-4-6';
const tools: Anthropic.Tool[] = [
  {
    name: 'read_file',
    description: 'Read a file of the repository',
    input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
  {
    name: 'finish',
    description: 'Report the outcome',
    input_schema: { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'] },
  },
];

let fake: FakeAnthropic;
let client: Anthropic;

beforeEach(async () => {
  fake = await FakeAnthropic.start();
  client = new Anthropic({ baseURL: fake.url, apiKey: fake.apiKey, maxRetries: 0 });
});
afterEach(() => fake.close());

describe('FakeAnthropic with the real SDK', () => {
  it('refuses a prompt over its context window as the API does, without using a scripted reply', async () => {
    const small = await FakeAnthropic.start({ contextWindowTokens: 100 });
    try {
      const tiny = new Anthropic({ baseURL: small.url, apiKey: small.apiKey, maxRetries: 0 });
      small.enqueue({ content: [{ type: 'text', text: 'fits' }] });
      const err = await tiny.messages
        .create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'x'.repeat(800) }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      expect((err as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
        error: {
          type: 'invalid_request_error',
          message: expect.stringMatching(/^prompt is too long: \d+ tokens > 100 maximum$/),
        },
      });
      const fits = await tiny.messages.create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
      expect(fits.content[0]).toMatchObject({ text: 'fits' });
    } finally {
      await small.close();
    }
  });

  it('answers a plain message with a full Message object', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'Hello from the fake' }] });

    const message = await client.messages.create({
      model,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Hello' }],
    });

    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text: 'Hello from the fake' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
    });
    expect(message.id).toMatch(/^msg_/);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(message._request_id).toMatch(/^req_/);
    const [request] = fake.received('/v1/messages', 'POST');
    expect(request?.headers['anthropic-version']).toBeDefined();
    expect(request?.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
  });

  it('runs a tool-use round trip: tool_use out, tool_result back', async () => {
    fake.enqueue(
      {
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'tool_use', name: 'read_file', input: { path: 'a.js' } },
        ],
      },
      { content: [{ type: 'text', text: 'Done.' }] },
    );
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Fix a.js' }];

    const first = await client.messages.create({ model, max_tokens: 512, tools, messages });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((block) => block.type === 'tool_use');
    expect(use).toMatchObject({ name: 'read_file', input: { path: 'a.js' } });
    expect(use?.id).toMatch(/^toolu_/);

    messages.push({ role: 'assistant', content: first.content });
    messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use?.id ?? '', content: 'x = 1' }] });
    const second = await client.messages.create({ model, max_tokens: 512, tools, messages });

    expect(second.stop_reason).toBe('end_turn');
    expect(second.content).toMatchObject([{ type: 'text', text: 'Done.' }]);
  });

  it('honours a forced tool_choice and rejects a script that ignores it', async () => {
    fake.enqueue({ content: [{ type: 'tool_use', name: 'finish', input: { summary: 'ok' } }] });
    const forced = await client.messages.create({
      model,
      max_tokens: 512,
      tools,
      tool_choice: { type: 'tool', name: 'finish' },
      messages: [{ role: 'user', content: 'Report' }],
    });
    expect(forced.content[0]).toMatchObject({ type: 'tool_use', name: 'finish' });

    fake.enqueue({ content: [{ type: 'text', text: 'I will not use the tool' }] });
    await expect(
      client.messages.create({
        model,
        max_tokens: 512,
        tools,
        tool_choice: { type: 'tool', name: 'finish' },
        messages: [{ role: 'user', content: 'Report' }],
      }),
    ).rejects.toMatchObject({ status: 500, message: expect.stringMatching(/forces a tool use/) });
    expect(fake.failures).toEqual([expect.stringMatching(/forces a tool use/)]);
  });

  it('accepts cache_control on tools, system and the last message', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'cached' }] });
    const lastTool = tools[1];
    const message = await client.messages.create({
      model,
      max_tokens: 128,
      tools: [
        tools[0] as Anthropic.Tool,
        { ...(lastTool as Anthropic.Tool), cache_control: { type: 'ephemeral', ttl: '1h' } },
      ],
      system: [{ type: 'text', text: 'You fix bugs.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Fix it', cache_control: { type: 'ephemeral' } }] }],
    });
    expect(message.content).toMatchObject([{ type: 'text', text: 'cached' }]);
  });

  it('uses the handler once the queue is empty, and fails loudly with neither', async () => {
    fake.setHandler((request) => ({ content: [{ type: 'text', text: `you sent ${request.messages.length}` }] }));
    const answered = await client.messages.create({
      model,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'one' }],
    });
    expect(answered.content).toMatchObject([{ type: 'text', text: 'you sent 1' }]);

    const bare = await FakeAnthropic.start();
    const bareClient = new Anthropic({ baseURL: bare.url, apiKey: bare.apiKey, maxRetries: 0 });
    await expect(
      bareClient.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 500, message: expect.stringMatching(/no scripted reply left/) });
    await bare.close();
  });

  it('streams a tool use when asked to', async () => {
    fake.enqueue({
      content: [
        { type: 'text', text: 'Reading.' },
        { type: 'tool_use', name: 'read_file', input: { path: 'src/pricing.js' } },
      ],
    });
    const stream = client.messages.stream({
      model,
      max_tokens: 512,
      tools,
      messages: [{ role: 'user', content: 'Go' }],
    });
    const message = await stream.finalMessage();
    expect(message.content).toMatchObject([
      { type: 'text', text: 'Reading.' },
      { type: 'tool_use', name: 'read_file', input: { path: 'src/pricing.js' } },
    ]);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage.output_tokens).toBe(fake.usageLog[0]?.output_tokens);
  });
});
