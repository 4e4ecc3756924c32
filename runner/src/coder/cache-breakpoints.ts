import type Anthropic from '@anthropic-ai/sdk';

const EPHEMERAL = { type: 'ephemeral' } as const;

/**
 * The messages of a request with prompt-cache breakpoints on the moving end of the conversation:
 * the last block of the latest user turn (written to the cache now, read next turn) and of the
 * user turn before it (read now, even when the newest turn added more blocks than the API's
 * 20-block lookback covers). With the tools and system breakpoints that makes 4, the API's limit.
 * The stored conversation is not changed: breakpoints move every turn.
 */
export function withCacheBreakpoints(messages: readonly Anthropic.MessageParam[]): Anthropic.MessageParam[] {
  const userTurns = messages.flatMap((m, i) => (m.role === 'user' ? [i] : [])).slice(-2);
  return messages.map((message, i) => {
    if (!userTurns.includes(i) || message.role !== 'user') return message;
    const content: Anthropic.ContentBlockParam[] =
      typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : [...message.content];
    const last = content.at(-1);
    if (last === undefined) return message;
    content[content.length - 1] = { ...last, cache_control: EPHEMERAL } as Anthropic.ContentBlockParam;
    return { role: 'user', content };
  });
}

/** Tool definitions with a breakpoint on the last one: the tools never change within a session. */
export function withToolsBreakpoint(tools: readonly Anthropic.Tool[]): Anthropic.Tool[] {
  return tools.map((tool, i) => (i === tools.length - 1 ? { ...tool, cache_control: EPHEMERAL } : tool));
}

export function cachedSystem(text: string): Anthropic.TextBlockParam[] {
  return [{ type: 'text', text, cache_control: EPHEMERAL }];
}
