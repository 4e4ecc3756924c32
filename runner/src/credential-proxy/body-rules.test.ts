import { describe, expect, it } from 'vitest';
import { anthropicMessagesBody, createPullBody, openaiChatBody, updatePullBody } from './body-rules.ts';

const message = { role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] };
const coder = {
  model: 'claude-sonnet-5-5',
  max_tokens: 64,
  system: [{ type: 'text', text: 'you fix bugs' }],
  tools: [{ name: 'read_file', description: 'reads', input_schema: { type: 'object' } }],
  messages: [
    message,
    { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'read_file', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'text' }] },
  ],
};

describe('body rules', () => {
  it('refuse a streamed model call: the budget is metered from whole answers', () => {
    expect(anthropicMessagesBody({ ...coder, stream: true })).toBe('field stream is not allowed');
  });

  it("let the coder's and the reviewer's calls through", () => {
    expect(anthropicMessagesBody(coder)).toBeUndefined();
    expect(
      openaiChatBody({
        model: 'gpt-4o',
        temperature: 0,
        messages: [{ role: 'system', content: 'review' }],
        response_format: { type: 'json_schema', json_schema: { name: 'v', strict: true, schema: {} } },
      }),
    ).toBeUndefined();
  });

  it.each([
    ['an MCP server', { ...coder, mcp_servers: [{ type: 'url', url: 'https://attacker.example/mcp' }] }],
    ['a container', { ...coder, container: 'container_1' }],
    ['a server tool', { ...coder, tools: [{ type: 'web_fetch_20250910', name: 'web_fetch' }] }],
    [
      'a file',
      {
        ...coder,
        messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: 'f' } }] }],
      },
    ],
    [
      'a container upload',
      { ...coder, messages: [{ role: 'user', content: [{ type: 'container_upload', file_id: 'f' }] }] },
    ],
    [
      'an image in a tool result',
      {
        ...coder,
        messages: [
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: 't',
                content: [{ type: 'image', source: { type: 'url', url: 'https://x' } }],
              },
            ],
          },
        ],
      },
    ],
  ])('refuse %s on Anthropic', (_what, body) => {
    expect(anthropicMessagesBody(body)).toBeTruthy();
  });

  it.each([
    ['stored completions', { model: 'gpt-4o', messages: [], store: true }],
    ['tools', { model: 'gpt-4o', messages: [], tools: [] }],
    [
      'a file part',
      { model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'f' } }] }] },
    ],
  ])('refuse %s on OpenAI', (_what, body) => {
    expect(openaiChatBody(body)).toBeTruthy();
  });

  it("let pull requests come from the run's branch only, and never change their base", () => {
    const create = createPullBody('acme', 'fix/SHOP-1');
    expect(create({ title: 't', body: 'b', head: 'fix/SHOP-1', base: 'main' })).toBeUndefined();
    expect(create({ title: 't', body: 'b', head: 'acme:fix/SHOP-1', base: 'main' })).toBeUndefined();
    expect(create({ title: 't', head: 'fix/OTHER-2', base: 'main' })).toMatch(/fix\/SHOP-1 only/);
    expect(create({ title: 't', head: 'fix/SHOP-1', base: 'main', draft: false, issue: 4 })).toMatch(/not allowed/);
    expect(updatePullBody({ title: 't', body: 'b' })).toBeUndefined();
    expect(updatePullBody({ title: 't', base: 'release' })).toMatch(/base is not allowed/);
    expect(updatePullBody({ state: 'closed' })).toMatch(/state is not allowed/);
  });
});
