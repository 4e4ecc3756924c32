import { invalid } from './anthropic-errors.ts';
import type { ContentBlockParam } from './messages-request.ts';

const ROLES = ['user', 'assistant', 'system'];
const BLOCK_TYPES = new Set([
  'text',
  'image',
  'document',
  'search_result',
  'thinking',
  'redacted_thinking',
  'tool_use',
  'tool_result',
  'server_tool_use',
  'web_search_tool_result',
  'web_fetch_tool_result',
  'code_execution_tool_result',
  'container_upload',
]);
const ASSISTANT_ONLY = new Set(['tool_use', 'thinking', 'redacted_thinking', 'server_tool_use']);

interface PlacedBlock {
  block: ContentBlockParam;
  path: string;
}

/** Consecutive messages of one role, which the API combines into a single turn. */
interface Turn {
  role: string;
  firstIndex: number;
  blocks: PlacedBlock[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The blocks of a message, a string content being shorthand for one text block. */
export function contentBlocks(content: string | ContentBlockParam[]): ContentBlockParam[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

/**
 * Checks `messages` as the Messages API does: roles, non-empty content, block shapes, and the
 * pairing of every `tool_use` with a `tool_result` in the very next turn (and no stray results).
 */
export function validateMessages(messages: unknown): void {
  if (messages === undefined) throw invalid('messages: Field required');
  if (!Array.isArray(messages)) throw invalid('messages: Input should be a valid list');
  if (messages.length === 0) throw invalid('messages: at least one message is required');
  const turns: Turn[] = [];
  messages.forEach((message, i) => {
    if (!isObject(message)) throw invalid(`messages.${i}: Input should be a valid dictionary`);
    if (!ROLES.includes(message.role as string)) {
      throw invalid(`messages.${i}.role: Input should be 'user', 'assistant' or 'system'`);
    }
    const isFinalAssistant = i === messages.length - 1 && message.role === 'assistant';
    const blocks = checkContent(message.content, message.role as string, i, isFinalAssistant);
    const last = turns.at(-1);
    if (last && last.role === message.role) last.blocks.push(...blocks);
    else turns.push({ role: message.role as string, firstIndex: i, blocks });
  });
  const seenIds = new Set<string>();
  turns.forEach((turn, t) => {
    if (turn.role === 'assistant') checkToolUsesAnswered(turn, turns[t + 1], seenIds);
    if (turn.role === 'user') checkToolResults(turn, turns[t - 1]);
  });
}

function checkContent(content: unknown, role: string, i: number, isFinalAssistant: boolean): PlacedBlock[] {
  if (typeof content !== 'string' && !Array.isArray(content)) throw invalid(`messages.${i}.content: Field required`);
  if (content.length === 0) {
    if (isFinalAssistant) return [];
    throw invalid(
      `messages.${i}: all messages must have non-empty content except for the optional final assistant message`,
    );
  }
  const blocks = contentBlocks(content as string | ContentBlockParam[]);
  const placed = blocks.map((block, j) => {
    const path = `messages.${i}.content.${j}`;
    checkBlock(block, role, path);
    return { block, path };
  });
  const lastBlock = blocks.at(-1);
  if (isFinalAssistant && lastBlock?.type === 'text' && /\s$/.test(lastBlock.text as string)) {
    throw invalid('messages: final assistant content cannot end with trailing whitespace');
  }
  return placed;
}

function checkBlock(block: unknown, role: string, path: string): void {
  if (!isObject(block) || typeof block.type !== 'string' || !BLOCK_TYPES.has(block.type)) {
    throw invalid(`${path}.type: Input tag found using 'type' does not match any of the expected tags`);
  }
  if (ASSISTANT_ONLY.has(block.type) && role !== 'assistant') {
    throw invalid(`${path}: \`${block.type}\` blocks are only allowed in assistant messages`);
  }
  if (block.type === 'tool_result' && role !== 'user') {
    throw invalid(`${path}: \`tool_result\` blocks are only allowed in user messages`);
  }
  if (block.type === 'text') {
    if (typeof block.text !== 'string') throw invalid(`${path}.text.text: Field required`);
    if (block.text === '') throw invalid('messages: text content blocks must be non-empty');
    if (block.text.trim() === '') throw invalid('messages: text content blocks must contain non-whitespace text');
  }
  if (block.type === 'tool_use') {
    if (typeof block.id !== 'string') throw invalid(`${path}.tool_use.id: Field required`);
    if (typeof block.name !== 'string') throw invalid(`${path}.tool_use.name: Field required`);
    if (!isObject(block.input)) throw invalid(`${path}.tool_use.input: Input should be a valid dictionary`);
  }
  if (block.type === 'tool_result') {
    if (typeof block.tool_use_id !== 'string') throw invalid(`${path}.tool_result.tool_use_id: Field required`);
    const content = block.content;
    if (content !== undefined && typeof content !== 'string' && !Array.isArray(content)) {
      throw invalid(`${path}.tool_result.content: Input should be a valid string or a list of content blocks`);
    }
    if (block.is_error !== undefined && typeof block.is_error !== 'boolean') {
      throw invalid(`${path}.tool_result.is_error: Input should be a valid boolean`);
    }
  }
}

function checkToolUsesAnswered(turn: Turn, next: Turn | undefined, seenIds: Set<string>): void {
  const ids: string[] = [];
  for (const { block, path } of turn.blocks) {
    if (block.type !== 'tool_use') continue;
    const id = block.id as string;
    if (seenIds.has(id)) throw invalid(`${path}: \`tool_use\` ids must be unique`);
    seenIds.add(id);
    ids.push(id);
  }
  const answered = new Set(
    next?.role === 'user'
      ? next.blocks.filter((b) => b.block.type === 'tool_result').map((b) => b.block.tool_use_id)
      : [],
  );
  const missing = ids.filter((id) => !answered.has(id));
  if (missing.length > 0) {
    throw invalid(
      `messages.${turn.firstIndex}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
    );
  }
}

function checkToolResults(turn: Turn, previous: Turn | undefined): void {
  const offered = new Set(
    previous?.role === 'assistant'
      ? previous.blocks.filter((b) => b.block.type === 'tool_use').map((b) => b.block.id)
      : [],
  );
  let otherContentSeen = false;
  for (const { block, path } of turn.blocks) {
    if (block.type !== 'tool_result') {
      otherContentSeen = true;
      continue;
    }
    if (!offered.has(block.tool_use_id)) {
      throw invalid(
        `${path}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
      );
    }
    // The tool-use guide: in the message that answers tool calls, the results come first.
    if (otherContentSeen)
      throw invalid(`${path}: \`tool_result\` blocks must come before any other content in the message`);
  }
}
