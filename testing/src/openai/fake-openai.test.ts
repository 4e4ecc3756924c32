import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FakeOpenAI } from './fake-openai.ts';

const model = 'gpt-4o';
const Review = z.object({
  verdict: z.enum(['approve', 'reject']),
  comments: z.array(z.string()),
});
const reviewSchema = {
  type: 'object',
  properties: {
    verdict: { type: 'string', enum: ['approve', 'reject'] },
    comments: { type: 'array', items: { type: 'string' } },
  },
  required: ['verdict', 'comments'],
  additionalProperties: false,
};
const reviewFormat = {
  type: 'json_schema' as const,
  json_schema: { name: 'review', strict: true, schema: reviewSchema },
};

let fake: FakeOpenAI;
let client: OpenAI;

beforeEach(async () => {
  fake = await FakeOpenAI.start();
  client = new OpenAI({ baseURL: fake.baseURL, apiKey: fake.apiKey, maxRetries: 0 });
});
afterEach(() => fake.close());

describe('FakeOpenAI with the real SDK', () => {
  it('answers an unknown or retired model as OpenAI does: 404 model_not_found, not retried', async () => {
    for (const unknown of ['gpt-4o-nonexistent', 'gpt-4o']) {
      if (unknown === 'gpt-4o') fake.retire('gpt-4o');
      const error = await client.chat.completions
        .create({ model: unknown, messages: [{ role: 'user', content: 'hi' }] })
        .catch((err: unknown) => err);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error).toMatchObject({
        status: 404,
        code: 'model_not_found',
        type: 'invalid_request_error',
        param: null,
        message: `404 The model \`${unknown}\` does not exist or you do not have access to it.`,
      });
    }
    expect(fake.failures).toEqual([]);
  });

  it('answers a plain completion with a full ChatCompletion object', async () => {
    fake.enqueue({ content: 'Looks fine.' });
    const completion = await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'You review diffs.' },
        { role: 'user', content: 'Review this.' },
      ],
    });
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model,
      choices: [
        { index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Looks fine.', refusal: null } },
      ],
    });
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    );
    expect(completion._request_id).toMatch(/^req_/);
    expect(fake.received('/v1/chat/completions')[0]?.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
  });

  it('answers a strict json_schema request, as the SDK zod helper builds it, with parsed JSON', async () => {
    fake.enqueue({ content: JSON.stringify({ verdict: 'reject', comments: ['percent is not divided by 100'] }) });
    const completion = await client.chat.completions.parse({
      model,
      messages: [{ role: 'user', content: 'Review the diff.' }],
      response_format: zodResponseFormat(Review, 'review'),
    });
    expect(completion.choices[0]?.message.parsed).toEqual({
      verdict: 'reject',
      comments: ['percent is not divided by 100'],
    });
  });

  it('fails loudly when the script breaks the strict json_schema', async () => {
    fake.enqueue({ content: JSON.stringify({ verdict: 'maybe' }) });
    await expect(
      client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Review.' }],
        response_format: reviewFormat,
      }),
    ).rejects.toMatchObject({ status: 500, message: expect.stringMatching(/breaks the json_schema 'review'/) });
    expect(fake.failures).toHaveLength(1);
  });

  it('accepts a refusal instead of structured content', async () => {
    fake.enqueue({ refusal: 'I cannot help with that.' });
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Review.' }],
      response_format: reviewFormat,
    });
    expect(completion.choices[0]?.message).toMatchObject({ content: null, refusal: 'I cannot help with that.' });
  });

  it('runs a tool-call round trip, and honours a forced tool_choice', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_diff',
          parameters: {
            type: 'object',
            properties: { path: { type: 'string' } },
            required: ['path'],
            additionalProperties: false,
          },
          strict: true,
        },
      },
    ];
    fake.enqueue(
      { tool_calls: [{ name: 'get_diff', arguments: { path: 'src/pricing.js' } }] },
      { content: 'Approved.' },
    );
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Review src/pricing.js' }];
    const first = await client.chat.completions.create({ model, messages, tools, tool_choice: 'required' });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call).toMatchObject({
      type: 'function',
      function: { name: 'get_diff', arguments: '{"path":"src/pricing.js"}' },
    });

    messages.push(first.choices[0]?.message as OpenAI.ChatCompletionMessageParam);
    messages.push({ role: 'tool', tool_call_id: call?.id ?? '', content: '- a\n+ b' });
    const second = await client.chat.completions.create({ model, messages, tools });
    expect(second.choices[0]?.message.content).toBe('Approved.');

    fake.enqueue({ content: 'no call' });
    await expect(
      client.chat.completions.create({ model, messages, tools, tool_choice: 'required' }),
    ).rejects.toMatchObject({
      status: 500,
      message: expect.stringMatching(/forces a tool call/),
    });
  });

  it('reports cached prompt tokens when a long prefix repeats', async () => {
    const cached = await FakeOpenAI.start({ minCacheableTokens: 200 });
    const cachedClient = new OpenAI({ baseURL: cached.baseURL, apiKey: cached.apiKey, maxRetries: 0 });
    cached.setHandler(() => ({ content: 'ok' }));
    const system = { role: 'system' as const, content: 'You are a strict reviewer of pull requests. '.repeat(40) };
    const first = await cachedClient.chat.completions.create({
      model,
      messages: [system, { role: 'user', content: 'diff 1' }],
    });
    const second = await cachedClient.chat.completions.create({
      model,
      messages: [system, { role: 'user', content: 'diff 2' }],
    });
    expect(first.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    const hit = second.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    expect(hit).toBeGreaterThanOrEqual(200);
    expect((hit - 200) % 128).toBe(0);
    expect(hit).toBeLessThanOrEqual(second.usage?.prompt_tokens ?? 0);
    expect(cached.usageLog.map((u) => u.cached_tokens)).toEqual([0, hit]);
    await cached.close();
  });
});
