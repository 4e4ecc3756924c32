/**
 * What the bodies of the model and GitHub calls may hold: the fields the runner sends, nothing
 * else. A field outside the list could make the upstream act beyond the runner's use: an MCP
 * server or a container on Anthropic, a stored file, a server-side tool fetching URLs, a pull
 * request retargeted at another base. Each rule returns why a body is refused, or undefined.
 */
export type BodyRule = (body: unknown) => string | undefined;

/** No `stream`: the proxy meters the budget from whole JSON answers (the runner never streams). */
const ANTHROPIC_FIELDS = new Set([
  'model',
  'max_tokens',
  'system',
  'messages',
  'tools',
  'tool_choice',
  'temperature',
  'top_p',
  'top_k',
  'stop_sequences',
  'metadata',
]);
/** Content blocks the coder sends: its own text and tool calls, and the tools' results. */
const ANTHROPIC_BLOCKS = new Set(['text', 'tool_use', 'tool_result']);
const TOOL_FIELDS = new Set(['name', 'description', 'input_schema', 'cache_control']);

const OPENAI_FIELDS = new Set([
  'model',
  'messages',
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'response_format',
  'seed',
  'stop',
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function extraField(body: Record<string, unknown>, allowed: Set<string>): string | undefined {
  return Object.keys(body).find((key) => !allowed.has(key));
}

/** Every block of a content list is an allowed type (nested tool results too). */
function badBlock(content: unknown): string | undefined {
  if (typeof content === 'string' || content === undefined) return undefined;
  if (!Array.isArray(content)) return 'content is neither text nor a list of blocks';
  for (const block of content) {
    if (!isObject(block) || typeof block.type !== 'string' || !ANTHROPIC_BLOCKS.has(block.type)) {
      return `content block ${isObject(block) ? String(block.type) : typeof block} is not allowed`;
    }
    if (block.type === 'tool_result') {
      const nested = badBlock(block.content);
      if (nested) return nested;
    }
  }
  return undefined;
}

export const anthropicMessagesBody: BodyRule = (body) => {
  if (!isObject(body)) return 'the body is not a JSON object';
  const extra = extraField(body, ANTHROPIC_FIELDS);
  if (extra) return `field ${extra} is not allowed`;
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return 'tools is not a list';
    // Custom tools only: a typed tool is a server tool (code execution, web fetch, …).
    for (const tool of body.tools) {
      if (!isObject(tool) || extraField(tool, TOOL_FIELDS)) return 'only custom tools are allowed';
    }
  }
  if (!Array.isArray(body.messages)) return 'messages is not a list';
  for (const message of body.messages) {
    if (!isObject(message)) return 'a message is not an object';
    const bad = badBlock(message.content);
    if (bad) return bad;
  }
  if (Array.isArray(body.system)) {
    const bad = badBlock(body.system);
    if (bad) return bad;
  }
  return undefined;
};

export const openaiChatBody: BodyRule = (body) => {
  if (!isObject(body)) return 'the body is not a JSON object';
  const extra = extraField(body, OPENAI_FIELDS);
  if (extra) return `field ${extra} is not allowed`;
  if (!Array.isArray(body.messages)) return 'messages is not a list';
  for (const message of body.messages) {
    // Text only: an image or file part makes OpenAI fetch or keep something.
    if (!isObject(message) || typeof message.content !== 'string') return 'only text messages are allowed';
  }
  return undefined;
};

/** A pull request from the run's own branch (`branch` or `owner:branch`), with a title, body and base. */
export function createPullBody(owner: string, branch: string): BodyRule {
  return (body) => {
    if (!isObject(body)) return 'the body is not a JSON object';
    const extra = extraField(body, new Set(['title', 'body', 'head', 'base', 'draft']));
    if (extra) return `field ${extra} is not allowed`;
    if (body.head !== branch && body.head !== `${owner}:${branch}`) return `pull requests come from ${branch} only`;
    return undefined;
  };
}

/** Title and body only: no base change, no state change. */
export const updatePullBody: BodyRule = (body) => {
  if (!isObject(body)) return 'the body is not a JSON object';
  const extra = extraField(body, new Set(['title', 'body']));
  return extra ? `field ${extra} is not allowed` : undefined;
};
