/**
 * The fakes' stated, deterministic token estimate: a string costs ceil(UTF-8 bytes / 4); any other
 * value costs the same of its JSON text as `JSON.stringify` writes it (the order the request sent).
 * Real tokenizers differ; tests assert the arithmetic between requests, never a real count.
 */
export function estimateTokens(value: unknown): number {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 4);
}
