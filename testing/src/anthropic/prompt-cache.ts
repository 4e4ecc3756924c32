import { createHash } from 'node:crypto';
import { estimateTokens } from '../estimate-tokens.ts';
import { invalid } from './anthropic-errors.ts';
import type { CacheControl, ContentBlockParam, MessagesRequest } from './messages-request.ts';
import { contentBlocks } from './validate-messages.ts';

const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;
type Ttl = keyof typeof TTL_MS;
// The API looks for an earlier cache entry at block boundaries up to about 20 blocks before each breakpoint.
const LOOKBACK_BLOCKS = 20;
const MAX_BREAKPOINTS = 4;

/** One block of the prompt in render order (tools, then system, then messages). */
interface PromptBlock {
  path: string;
  type: string;
  /** What the block contributes to the prompt: its JSON without `cache_control`, with its place. */
  rendered: string;
  tokens: number;
  cacheControl: unknown;
}

export interface CacheUsage {
  input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

/** A block as it enters the prompt: markers (cache_control, at any depth) are not part of it. */
function withoutCacheControl(block: object): unknown {
  return JSON.parse(JSON.stringify(block, (key, value) => (key === 'cache_control' ? undefined : value)));
}

function promptBlocks(request: MessagesRequest): PromptBlock[] {
  const blocks: PromptBlock[] = [];
  const add = (path: string, place: unknown[], block: ContentBlockParam | object) => {
    const bare = withoutCacheControl(block);
    blocks.push({
      path,
      type: (block as { type?: string }).type ?? 'tool',
      rendered: JSON.stringify([...place, bare]),
      tokens: estimateTokens(bare),
      cacheControl: (block as { cache_control?: unknown }).cache_control,
    });
  };
  (request.tools ?? []).forEach((tool, i) => {
    add(`tools.${i}`, ['tools'], tool);
  });
  if (request.system !== undefined) {
    contentBlocks(request.system).forEach((block, i) => {
      add(`system.${i}`, ['system'], block);
    });
  }
  // Changing tool_choice or thinking keeps the tools and system cache but not the messages cache.
  const messagesContext = [request.tool_choice ?? null, request.thinking ?? null];
  request.messages.forEach((message, i) => {
    contentBlocks(message.content).forEach((block, j) => {
      const place = i === 0 && j === 0 ? ['messages', messagesContext, message.role] : ['messages', message.role];
      add(`messages.${i}.content.${j}`, place, block);
    });
  });
  return blocks;
}

function checkCacheControl(value: unknown, block: PromptBlock): Ttl {
  const control = value as Partial<CacheControl> | null;
  if (typeof control !== 'object' || control === null || control.type !== 'ephemeral') {
    throw invalid(`${block.path}.cache_control.type: Input should be 'ephemeral'`);
  }
  if (control.ttl !== undefined && control.ttl !== '5m' && control.ttl !== '1h') {
    throw invalid(`${block.path}.cache_control.ttl: Input should be '5m' or '1h'`);
  }
  if (block.type === 'thinking' || block.type === 'redacted_thinking') {
    throw invalid(`${block.path}: cache_control cannot be set for ${block.type} blocks`);
  }
  return control.ttl ?? '5m';
}

/** The breakpoints of a request (block index and TTL), checked as the API checks them. */
function breakpoints(request: MessagesRequest, blocks: PromptBlock[]): { index: number; ttl: Ttl }[] {
  const found: { index: number; ttl: Ttl }[] = [];
  blocks.forEach((block, index) => {
    if (block.cacheControl === undefined || block.cacheControl === null) return;
    found.push({ index, ttl: checkCacheControl(block.cacheControl, block) });
  });
  // Top-level cache_control (automatic caching) puts one more breakpoint on the last cacheable block.
  if (request.cache_control !== undefined && request.cache_control !== null) {
    const last = blocks.findLastIndex((b) => b.type !== 'thinking' && b.type !== 'redacted_thinking');
    const lastBlock = blocks[last];
    if (lastBlock && !found.some((b) => b.index === last)) {
      found.push({
        index: last,
        ttl: checkCacheControl(request.cache_control, { ...lastBlock, path: 'cache_control' }),
      });
    }
  }
  if (found.length > MAX_BREAKPOINTS) {
    throw invalid(`A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${found.length}.`);
  }
  const firstShort = found.findIndex((b) => b.ttl === '5m');
  if (firstShort >= 0 && found.slice(firstShort).some((b) => b.ttl === '1h')) {
    throw invalid("a cache_control block with ttl='1h' must not come after one with ttl='5m'");
  }
  return found;
}

/** Checks a request's cache_control blocks without touching the cache. */
export function validateCacheControl(request: MessagesRequest): void {
  breakpoints(request, promptBlocks(request));
}

/**
 * Prompt caching as documented: a breakpoint caches the prefix up to and including its block; a
 * request reads the longest cached prefix found at a breakpoint or up to 20 blocks before one
 * (same model, within its TTL, which a hit refreshes); what lies between that and the last
 * breakpoint is written, if the prefix is at least `minTokens` long; the rest is plain input.
 */
export class PromptCache {
  #entries = new Map<string, { expiresAt: number; ttl: Ttl }>();
  readonly #minTokens: number;
  readonly #now: () => number;

  constructor(minTokens: number, now: () => number) {
    this.#minTokens = minTokens;
    this.#now = now;
  }

  clear(): void {
    this.#entries.clear();
  }

  account(request: MessagesRequest): CacheUsage {
    const blocks = promptBlocks(request);
    const points = breakpoints(request, blocks);
    const now = this.#now();
    const keys: string[] = [];
    const prefixTokens: number[] = [];
    let hash = request.model;
    let tokens = 0;
    for (const block of blocks) {
      hash = createHash('sha256').update(hash).update('\n').update(block.rendered).digest('hex');
      tokens += block.tokens;
      keys.push(`${request.model}\n${hash}`);
      prefixTokens.push(tokens);
    }
    const alive = (key: string | undefined) => {
      const entry = key === undefined ? undefined : this.#entries.get(key);
      return entry !== undefined && entry.expiresAt > now ? entry : undefined;
    };

    let readEnd = -1;
    for (const point of points) {
      for (let j = point.index; j >= Math.max(0, point.index - LOOKBACK_BLOCKS); j--) {
        const entry = alive(keys[j]);
        if (!entry) continue;
        entry.expiresAt = now + TTL_MS[entry.ttl];
        readEnd = Math.max(readEnd, j);
        break;
      }
    }
    const tokensUpTo = (index: number) => (index < 0 ? 0 : (prefixTokens[index] ?? 0));
    const written = { '5m': 0, '1h': 0 };
    let writtenUpTo = readEnd;
    for (const point of points) {
      if (point.index <= writtenUpTo || tokensUpTo(point.index) < this.#minTokens) continue;
      written[point.ttl] += tokensUpTo(point.index) - tokensUpTo(writtenUpTo);
      this.#entries.set(keys[point.index] as string, { expiresAt: now + TTL_MS[point.ttl], ttl: point.ttl });
      writtenUpTo = point.index;
    }
    const read = tokensUpTo(readEnd);
    const creation = written['5m'] + written['1h'];
    return {
      input_tokens: tokens - read - creation,
      cache_read_input_tokens: read,
      cache_creation_input_tokens: creation,
      cache_creation: { ephemeral_5m_input_tokens: written['5m'], ephemeral_1h_input_tokens: written['1h'] },
    };
  }
}
