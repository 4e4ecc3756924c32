import { toModelJsonSchema } from '@anton/contracts';
import { z } from 'zod';

/** The reviewer's answer, as structured output. */
export const ReviewVerdict = z.object({
  approved: z.boolean().describe('true only if the change fixes the task and is safe to merge as it is'),
  reason: z.string().describe('One or two sentences: why the change is approved or rejected'),
  problems: z
    .array(z.string())
    .describe('Each concrete problem the author must fix before approval; empty when approved'),
});
export type ReviewVerdict = z.infer<typeof ReviewVerdict>;

/**
 * OpenAI's strict structured output wants every property required and no additional properties,
 * at every level; zod's JSON schema (derived once, in contracts) is tightened to that here.
 */
export function strictJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return tighten(toModelJsonSchema(schema)) as Record<string, unknown>;
}

function tighten(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tighten);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = tighten(value);
  if (out.type === 'object' && typeof out.properties === 'object' && out.properties !== null) {
    out.required = Object.keys(out.properties);
    out.additionalProperties = false;
  }
  return out;
}

/**
 * Reads the reviewer's answer: the structured JSON, or the original's plain-text protocol
 * (`APPROVED`, or `REJECTED: <reason>`) from an endpoint that ignores response_format.
 * Anything else is undefined: the caller decides what an unreadable review means.
 */
export function parseVerdict(text: string): ReviewVerdict | undefined {
  const trimmed = text.trim();
  const json = trimmed.replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/, '$1');
  try {
    const parsed = ReviewVerdict.safeParse(JSON.parse(json));
    if (parsed.success) return parsed.data;
  } catch {
    // Not JSON: try the text protocol.
  }
  if (/^APPROVED\b/i.test(trimmed)) {
    const reason = trimmed.replace(/^APPROVED[:.\s-]*/i, '').trim();
    return { approved: true, reason: reason || 'Approved.', problems: [] };
  }
  const rejected = /^REJECTED\b[:.\s-]*([\s\S]*)$/i.exec(trimmed);
  if (rejected) {
    const reason = rejected[1]?.trim() || 'Rejected without a reason.';
    return { approved: false, reason, problems: [] };
  }
  return undefined;
}
