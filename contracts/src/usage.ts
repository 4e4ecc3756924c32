import { z } from 'zod';

const count = z.int().nonnegative().default(0);

/** Tokens billed by a model provider, in Anthropic's terms (OpenAI's cached prompt tokens map to cache reads). */
export const TokenUsage = z.object({
  input_tokens: count,
  output_tokens: count,
  cache_creation_input_tokens: count,
  cache_read_input_tokens: count,
});
export type TokenUsage = z.infer<typeof TokenUsage>;

export const RunUsage = z.object({
  coder: TokenUsage.default(() => TokenUsage.parse({})),
  reviewer: TokenUsage.default(() => TokenUsage.parse({})),
});
export type RunUsage = z.infer<typeof RunUsage>;

export function emptyUsage(): TokenUsage {
  return { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
}

export function addUsage(a: TokenUsage, b: Partial<TokenUsage>): TokenUsage {
  return {
    input_tokens: a.input_tokens + (b.input_tokens ?? 0),
    output_tokens: a.output_tokens + (b.output_tokens ?? 0),
    cache_creation_input_tokens: a.cache_creation_input_tokens + (b.cache_creation_input_tokens ?? 0),
    cache_read_input_tokens: a.cache_read_input_tokens + (b.cache_read_input_tokens ?? 0),
  };
}
