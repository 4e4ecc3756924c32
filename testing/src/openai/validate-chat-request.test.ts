import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAI } from './fake-openai.ts';

const model = 'gpt-4o';
const tool = { type: 'function', function: { name: 'get_diff', parameters: { type: 'object', properties: {} } } };
const call = { id: 'call_1', type: 'function', function: { name: 'get_diff', arguments: '{}' } };
const schemaFormat = (schema: Record<string, unknown>, strict = true) => ({
  response_format: { type: 'json_schema', json_schema: { name: 'review', strict, schema } },
});
const closed = {
  type: 'object',
  properties: { ok: { type: 'boolean' } },
  required: ['ok'],
  additionalProperties: false,
};

let fake: FakeOpenAI;

beforeAll(async () => {
  fake = await FakeOpenAI.start({ models: [model] });
  fake.setHandler((request) =>
    request.response_format?.type === 'json_schema' || request.response_format?.type === 'json_object'
      ? { content: '{"ok":true}' }
      : { content: 'fine' },
  );
});
afterAll(() => fake.close());

/** Posts a request built from a valid one; an authorization of '' is left out. */
async function post(body: Record<string, unknown>, authorization = `Bearer ${fake.apiKey}`) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization) headers.authorization = authorization;
  const res = await fetch(`${fake.baseURL}/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Review this diff' }], ...body }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe('FakeOpenAI rejects what Chat Completions rejects', () => {
  it.each([
    ['a missing model', { model: undefined }, 400, /you must provide a model parameter/, null],
    ['an unknown model', { model: 'gpt-nonexistent' }, 404, /does not exist/, 'model_not_found'],
    [
      'missing messages',
      { messages: undefined },
      400,
      /Missing required parameter: 'messages'/,
      'missing_required_parameter',
    ],
    ['an empty messages list', { messages: [] }, 400, /empty array/, 'empty_array'],
    [
      'an unknown role',
      { messages: [{ role: 'critic', content: 'x' }] },
      400,
      /Invalid value: 'critic'/,
      'invalid_value',
    ],
    [
      'a user message without content',
      { messages: [{ role: 'user' }] },
      400,
      /messages\[0\]\.content/,
      'missing_required_parameter',
    ],
    ['an unknown parameter', { temperatur: 0 }, 400, /Unrecognized request argument supplied: temperatur/, null],
    ['a max_tokens of 0', { max_tokens: 0 }, 400, /max_tokens/, 'integer_below_min_value'],
    [
      'a tool message with no tool call before it',
      {
        messages: [
          { role: 'user', content: 'x' },
          { role: 'tool', tool_call_id: 'call_1', content: 'r' },
        ],
      },
      400,
      /must be a response to a preceeding message with 'tool_calls'/,
      null,
    ],
    [
      'tool calls left unanswered',
      {
        tools: [tool],
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', tool_calls: [call] },
          { role: 'user', content: 'y' },
        ],
      },
      400,
      /did not have response messages: call_1/,
      null,
    ],
    [
      'a function name with a dot',
      { tools: [{ ...tool, function: { name: 'git.diff' } }] },
      400,
      /does not match pattern/,
      'invalid_value',
    ],
    ['tool_choice without tools', { tool_choice: 'required' }, 400, /only allowed when 'tools' are specified/, null],
    [
      'tool_choice naming a function not offered',
      { tools: [tool], tool_choice: { type: 'function', function: { name: 'other' } } },
      400,
      /no function named 'other'/,
      null,
    ],
    [
      'an unknown response_format type',
      { response_format: { type: 'xml' } },
      400,
      /Supported values are: 'json_object'/,
      'invalid_value',
    ],
    [
      'json_object without the word json in the messages',
      { messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_object' } },
      400,
      /must contain the word 'json'/,
      null,
    ],
    [
      'a json_schema name with a space',
      { response_format: { type: 'json_schema', json_schema: { name: 'my review', schema: closed } } },
      400,
      /json_schema\.name/,
      'invalid_value',
    ],
    [
      'a schema that is no JSON schema',
      schemaFormat({ type: 'object', properties: { ok: { type: 'bool' } } }, false),
      400,
      /Invalid schema for response_format 'review'/,
      null,
    ],
    [
      'a strict schema without additionalProperties: false',
      schemaFormat({ type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] }),
      400,
      /In context=\(\), 'additionalProperties' is required to be supplied and to be false/,
      null,
    ],
    [
      'a strict schema with an optional property',
      schemaFormat({ ...closed, properties: { ok: { type: 'boolean' }, note: { type: 'string' } } }),
      400,
      /'required' is required to be supplied and to be an array including every key in properties\. Missing 'note'/,
      null,
    ],
    [
      'a strict schema with a nested open object',
      schemaFormat({ ...closed, properties: { ok: { type: 'object', properties: {} } } }),
      400,
      /In context=\('properties', 'ok'\), 'additionalProperties'/,
      null,
    ],
    [
      'a strict schema using oneOf',
      schemaFormat({ ...closed, properties: { ok: { oneOf: [{ type: 'boolean' }] } } }),
      400,
      /'oneOf' is not permitted/,
      null,
    ],
    [
      'a strict schema whose root is an array',
      schemaFormat({ type: 'array', items: { type: 'string' } }),
      400,
      /must be a JSON Schema of 'type: "object"'/,
      null,
    ],
  ])('rejects %s', async (_name, body, status, message, code) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({
      error: { message: expect.stringMatching(message), type: 'invalid_request_error', code },
    });
    expect(Object.keys(res.body.error as object)).toEqual(['message', 'type', 'param', 'code']);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('answers 401 to a missing key and 401 invalid_api_key to a wrong one, through the SDK too', async () => {
    const missing = await post({}, '');
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ error: { message: expect.stringMatching(/didn't provide an API key/) } });

    const wrong = new OpenAI({ baseURL: fake.baseURL, apiKey: 'sk-proj-wrong-key-123', maxRetries: 0 });
    const error = await wrong.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'hi' }] })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error).toMatchObject({ code: 'invalid_api_key', type: 'invalid_request_error' });
    expect((error as Error).message).not.toContain('sk-proj-wrong-key-123');
  });
});

describe('FakeOpenAI accepts what Chat Completions accepts', () => {
  it.each([
    [
      'a non-strict schema with optional properties',
      schemaFormat({ type: 'object', properties: { ok: { type: 'boolean' } } }, false),
    ],
    [
      'a strict schema with $defs and anyOf',
      schemaFormat({
        ...closed,
        properties: { ok: { anyOf: [{ $ref: '#/$defs/flag' }, { type: 'null' }] } },
        $defs: { flag: { type: 'boolean' } },
      }),
    ],
    [
      'json_object when the messages say JSON',
      { messages: [{ role: 'user', content: 'Answer in JSON' }], response_format: { type: 'json_object' } },
    ],
    [
      'a developer message',
      {
        messages: [
          { role: 'developer', content: 'Be brief' },
          { role: 'user', content: 'hi' },
        ],
      },
    ],
    [
      'an answered tool call',
      {
        tools: [tool],
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: 'call_1', content: 'diff' },
        ],
      },
    ],
  ])('accepts %s', async (_name, body) => {
    const res = await post(body);
    expect(res.body).toMatchObject({ object: 'chat.completion' });
    expect(res.status).toBe(200);
  });
});
