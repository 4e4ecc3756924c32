import { createHash } from 'node:crypto';
import { estimateTokens } from '../estimate-tokens.ts';
import type { ChatRequest } from './chat-request.ts';

const TTL_MS = 10 * 60_000;
const INCREMENT = 128;

/**
 * OpenAI's automatic prompt caching, emulated: a prompt of at least `minTokens` (1024) reuses the
 * longest prefix an earlier request of the same model sent within the last ten minutes, counted
 * at element boundaries (each tool, the response_format, each message, in that order) and
 * reported in steps of 128 tokens past the minimum, as `prompt_tokens_details.cached_tokens`.
 */
export class ChatPromptCache {
  #prefixes = new Map<string, number>();
  readonly #minTokens: number;
  readonly #now: () => number;

  constructor(minTokens: number, now: () => number) {
    this.#minTokens = minTokens;
    this.#now = now;
  }

  /** Returns prompt tokens and how many of them were cached, and remembers this prompt's prefixes. */
  account(request: ChatRequest): { prompt_tokens: number; cached_tokens: number } {
    const now = this.#now();
    const elements: unknown[] = [
      ...(request.tools ?? []),
      ...(request.response_format ? [request.response_format] : []),
      ...request.messages,
    ];
    let hash = request.model;
    let tokens = 0;
    let longestHit = 0;
    const seen: [string, number][] = [];
    for (const element of elements) {
      hash = createHash('sha256').update(hash).update('\n').update(JSON.stringify(element)).digest('hex');
      tokens += estimateTokens(element);
      const expiresAt = this.#prefixes.get(hash);
      if (expiresAt !== undefined && expiresAt > now) longestHit = tokens;
      seen.push([hash, tokens]);
    }
    if (tokens < this.#minTokens) return { prompt_tokens: tokens, cached_tokens: 0 };
    for (const [key, prefixTokens] of seen) {
      if (prefixTokens >= this.#minTokens) this.#prefixes.set(key, now + TTL_MS);
    }
    const cached =
      longestHit >= this.#minTokens
        ? this.#minTokens + Math.floor((longestHit - this.#minTokens) / INCREMENT) * INCREMENT
        : 0;
    return { prompt_tokens: tokens, cached_tokens: cached };
  }

  clear(): void {
    this.#prefixes.clear();
  }
}
