import type { FastifyInstance } from 'fastify';
import type { BodyEncoding } from './sources/webhook-source.ts';

const MEDIA_TYPES: Record<string, BodyEncoding> = {
  'application/json': 'json',
  'application/x-www-form-urlencoded': 'form',
};

/**
 * Bodies stay raw Buffers until the handler has checked the sender's signature over those exact
 * bytes; parsing happens only after. Any other media type is a 415 from Fastify itself.
 */
export function keepRawBodies(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(Object.keys(MEDIA_TYPES), { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );
}

/** The body's encoding from its Content-Type (parameters such as charset ignored). */
export function encodingOf(contentType: string | undefined): BodyEncoding | undefined {
  const essence = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return MEDIA_TYPES[essence];
}

// Like Fastify's own JSON parser, refuse `__proto__` keys (in any escaping) instead of carrying them on.
const PROTO_KEY =
  /"(?:_|\\u005[Ff])(?:_|\\u005[Ff])(?:p|\\u0070)(?:r|\\u0072)(?:o|\\u006[Ff])(?:t|\\u0074)(?:o|\\u006[Ff])(?:_|\\u005[Ff])(?:_|\\u005[Ff])"\s*:/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Deeper than any sender's payload (a Jira description in ADF nests about a dozen levels). Every
 * later step walks the body recursively (validation, the Datadog template check, ADF to text,
 * JSON.stringify when publishing, the orchestrator's), so a body nested 100,000 levels would
 * overflow the stack in one of them; refusing it here keeps them all safe.
 */
export const MAX_JSON_DEPTH = 64;

/** True when brackets outside strings nest deeper than `max`; one pass, no parsing. */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c)
        i++; // a backslash escapes the next character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x7b || char === 0x5b) {
      depth++;
      if (depth > max) return true;
    } else if (char === 0x7d || char === 0x5d) depth--;
  }
  return false;
}

export type Decoded = { ok: true; value: unknown } | { ok: false; problem: string };

export function decodeBody(raw: Buffer, encoding: BodyEncoding): Decoded {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return { ok: false, problem: 'body is not valid UTF-8' };
  }
  if (encoding === 'form') {
    const fields = new URLSearchParams(text);
    if (fields.has('__proto__')) return { ok: false, problem: 'body has a forbidden __proto__ field' };
    return { ok: true, value: Object.fromEntries(fields) };
  }
  if (PROTO_KEY.test(text)) return { ok: false, problem: 'body has a forbidden __proto__ key' };
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    return { ok: false, problem: `body nests deeper than ${MAX_JSON_DEPTH} levels` };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, problem: `body is not valid JSON: ${(err as Error).message}` };
  }
}
