import type { IncomingHttpHeaders } from 'node:http';
import { type AgentTask, formatIssues, type Source } from '@anton/contracts';
import { z } from 'zod';

/** How a source may encode its body: JSON, or `application/x-www-form-urlencoded`. */
export type BodyEncoding = 'json' | 'form';

/** What a source makes of a payload; the app adds `task_id`, `source`, `raw_payload`, `created_at`. */
export type TaskDraft = Omit<AgentTask, 'task_id' | 'source' | 'raw_payload' | 'created_at'>;

export type Interpretation =
  | { kind: 'invalid'; problem: string }
  | { kind: 'ignored'; reason: string }
  | { kind: 'task'; draft: TaskDraft };

/**
 * One webhook sender. Everything that differs between senders lives behind this interface, so a
 * new sender is one module implementing it plus one line in `registry.ts`.
 */
export interface WebhookSource {
  readonly source: Source;
  /** The route is `POST /webhooks/<path>`. */
  readonly path: string;
  readonly encodings: readonly BodyEncoding[];
  /** Checks the sender's credentials over the exact received bytes, before anything reads them. */
  authenticate(headers: IncomingHttpHeaders, rawBody: Buffer, secret: string): boolean;
  /** The headers the real sender would add to `rawBody` (for `send-webhook` and the tests). */
  sign(rawBody: Buffer, secret: string): Record<string, string>;
  /** The sender's id of this delivery, unchanged on its retries, when it sends one. */
  deliveryId?(headers: IncomingHttpHeaders): string | undefined;
  /** Validates the decoded body, then decides: a task, or a reason not to start work. */
  interpret(body: unknown): Interpretation;
}

/** Builds `interpret` from a source's schema, filter and normalizer. */
export function interpretWith<P>(
  schema: z.ZodType<P>,
  ignoreReason: (payload: P) => string | undefined,
  normalize: (payload: P) => TaskDraft,
): (body: unknown) => Interpretation {
  return (body) => {
    const parsed = schema.safeParse(body);
    if (!parsed.success) return { kind: 'invalid', problem: formatIssues(parsed.error) };
    const reason = ignoreReason(parsed.data);
    if (reason !== undefined) return { kind: 'ignored', reason };
    return { kind: 'task', draft: normalize(parsed.data) };
  };
}

/** Ids and values that senders write as strings but custom templates may write as numbers. */
export const textValue = z.union([z.string(), z.number()]).transform(String);
