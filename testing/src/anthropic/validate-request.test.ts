import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAnthropic } from './fake-anthropic.ts';

const model = 'claude-sonnet-4-6';
const tool = { name: 'read_file', input_schema: { type: 'object', properties: { path: { type: 'string' } } } };
const toolUse = { type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'a.js' } };
const toolResult = { type: 'tool_result', tool_use_id: 'toolu_1', content: 'x = 1' };
const cached = (text: string, ttl?: '5m' | '1h') => ({ type: 'text', text, cache_control: { type: 'ephemeral', ttl } });

let fake: FakeAnthropic;

beforeAll(async () => {
  fake = await FakeAnthropic.start({ models: [model] });
  fake.setHandler(() => ({ content: [{ type: 'text', text: 'ok' }] }));
});
afterAll(() => fake.close());

/** Posts a request built from a valid one; a header given as '' is left out. */
async function post(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const all: Record<string, string> = {
    'content-type': 'application/json',
    'x-api-key': fake.apiKey,
    'anthropic-version': '2026-10-21',
    ...headers,
  };
  const res = await fetch(`${fake.url}/v1/messages`, {
    method: 'POST',
    headers: Object.fromEntries(Object.entries(all).filter(([, value]) => value !== '')),
    body: JSON.stringify({ model, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], ...body }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe('FakeAnthropic rejects what the Messages API rejects', () => {
  it.each([
    ['a missing anthropic-version', {}, { 'anthropic-version': '' }, 400, /^anthropic-version: header is required$/],
    ['an unknown anthropic-version', {}, { 'anthropic-version': '2024-10-22' }, 400, /not a valid version/],
    ['temperature under 2026-10-21', { temperature: 1 }, {}, 400, /temperature: Extra inputs are not permitted/],
    ['a missing max_tokens', { max_tokens: undefined }, {}, 400, /max_tokens: Field required/],
    ['a negative max_tokens', { max_tokens: -1 }, {}, 400, /max_tokens/],
    ['an empty messages list', { messages: [] }, {}, 400, /at least one message/],
    ['an unknown role', { messages: [{ role: 'tool', content: 'x' }] }, {}, 400, /role/],
    [
      'an empty non-final message',
      {
        messages: [
          { role: 'user', content: '' },
          { role: 'assistant', content: 'a' },
          { role: 'user', content: 'b' },
        ],
      },
      {},
      400,
      /non-empty content/,
    ],
    [
      'a whitespace-only text block',
      { messages: [{ role: 'user', content: [{ type: 'text', text: '  ' }] }] },
      {},
      400,
      /non-whitespace/,
    ],
    [
      'a tool_result without a tool_use before it',
      { tools: [tool], messages: [{ role: 'user', content: [toolResult] }] },
      {},
      400,
      /messages\.0\.content\.0: unexpected `tool_use_id`/,
    ],
    [
      'a tool_use left unanswered',
      {
        tools: [tool],
        messages: [
          { role: 'user', content: 'go' },
          { role: 'assistant', content: [toolUse] },
          { role: 'user', content: 'and?' },
        ],
      },
      {},
      400,
      /messages\.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1/,
    ],
    [
      'text before the tool_result that answers a tool_use',
      {
        tools: [tool],
        messages: [
          { role: 'user', content: 'go' },
          { role: 'assistant', content: [toolUse] },
          { role: 'user', content: [{ type: 'text', text: 'here:' }, toolResult] },
        ],
      },
      {},
      400,
      /must come before/,
    ],
    [
      'a tool name with a dot',
      { tools: [{ ...tool, name: 'fs.read' }] },
      {},
      400,
      /custom\.name: String should match pattern/,
    ],
    ['a tool without input_schema', { tools: [{ name: 'x' }] }, {}, 400, /input_schema: Field required/],
    [
      'an input_schema that is not an object',
      { tools: [{ name: 'x', input_schema: { type: 'array' } }] },
      {},
      400,
      /Input should be 'object'/,
    ],
    [
      'an input_schema that is no JSON schema',
      { tools: [{ name: 'x', input_schema: { type: 'object', properties: { a: { type: 'strnig' } } } }] },
      {},
      400,
      /JSON schema is invalid/,
    ],
    ['duplicate tool names', { tools: [tool, tool] }, {}, 400, /unique/],
    [
      'a tool_choice naming a tool not offered',
      { tools: [tool], tool_choice: { type: 'tool', name: 'nope' } },
      {},
      400,
      /not found/,
    ],
    ['tool_choice any without tools', { tool_choice: { type: 'any' } }, {}, 400, /tool_choice/],
    [
      'five cache breakpoints',
      {
        system: [cached('a'), cached('b'), cached('c'), cached('d')],
        messages: [{ role: 'user', content: [cached('e')] }],
      },
      {},
      400,
      /A maximum of 4 blocks with cache_control may be provided\. Found 5\./,
    ],
    ['a 1h breakpoint after a 5m one', { system: [cached('a', '5m'), cached('b', '1h')] }, {}, 400, /ttl='1h'/],
    [
      'a cache_control of another type',
      { system: [{ type: 'text', text: 'a', cache_control: { type: 'forever' } }] },
      {},
      400,
      /ephemeral/,
    ],
    ['an unknown model', { model: 'claude-nonexistent' }, {}, 404, /model: claude-nonexistent/],
  ])('rejects %s', async (_name, body, headers, status, message) => {
    const res = await post(body, headers);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ type: 'error', error: { message: expect.stringMatching(message) } });
    expect(res.body.request_id).toBe(res.headers.get('request-id'));
    expect(res.headers.get('x-should-retry')).toBe('false');
  });

  it('answers 401 authentication_error to a wrong or missing key, through the SDK too', async () => {
    const wrong = new Anthropic({ baseURL: fake.url, apiKey: 'sk-ant-wrong', maxRetries: 0 });
    await expect(
      wrong.messages.create({ model, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    const wrongFirst = await post({}, { 'x-api-key': 'sk-ant-wrong', authorization: `Bearer ${fake.apiKey}` });
    expect(wrongFirst.status).toBe(401);
    const missing = await post({}, { 'x-api-key': '' });
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({
      error: { type: 'authentication_error', message: 'x-api-key header is required' },
    });
  });

  it('answers 404 not_found_error on an unknown path', async () => {
    const res = await fetch(`${fake.url}/v1/complete`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });
});

describe('FakeAnthropic accepts what the Messages API accepts', () => {
  it.each([
    ['temperature under 2023-06-01', { temperature: 0.2 }, { 'anthropic-version': '2023-06-01' }],
    [
      'consecutive user messages (the API merges them)',
      {
        messages: [
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
        ],
      },
      {},
    ],
    [
      'an assistant message first',
      {
        messages: [
          { role: 'assistant', content: 'Hi' },
          { role: 'user', content: 'b' },
        ],
      },
      {},
    ],
    [
      'a prefilled final assistant message',
      {
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: '{' },
        ],
      },
      {},
    ],
    [
      'tool_results followed by text, split over two user messages',
      {
        tools: [tool],
        messages: [
          { role: 'user', content: 'go' },
          { role: 'assistant', content: [toolUse] },
          { role: 'user', content: [toolResult] },
          { role: 'user', content: 'now finish' },
        ],
      },
      {},
    ],
    ['top-level (automatic) cache_control', { cache_control: { type: 'ephemeral' } }, {}],
    ['max_tokens 0 to warm the cache', { max_tokens: 0 }, {}],
    ['a Bearer key instead of x-api-key', {}, { 'x-api-key': '', authorization: 'Bearer sk-ant-api03-fake-key' }],
    // What a credential proxy sends: the SDK's placeholder Bearer plus the real x-api-key, which wins.
    ['x-api-key next to a placeholder Bearer', {}, { authorization: 'Bearer placeholder' }],
  ])('accepts %s', async (_name, body, headers) => {
    const res = await post(body, headers);
    expect(res.body).toMatchObject({ type: 'message' });
    expect(res.status).toBe(200);
  });
});
