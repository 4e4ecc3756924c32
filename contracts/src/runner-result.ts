import { z } from 'zod';
import { RunUsage } from './usage.ts';

/**
 * `draft_opened`: the budget, the turns or the review rounds ran out with a change in the tree; it
 * was pushed as a draft pull request saying what is unfinished.
 */
export const RunStatus = z.enum(['pr_opened', 'draft_opened', 'no_changes', 'rejected', 'failed']);
export type RunStatus = z.infer<typeof RunStatus>;

/** What the runner reports when it ends: its termination message and its last log line. */
export const RunnerResult = z.object({
  status: RunStatus,
  task_id: z.string().optional(),
  pr_url: z.string().optional(),
  branch: z.string().optional(),
  turns: z.int().nonnegative(),
  review_rounds: z.int().nonnegative(),
  usage: RunUsage,
  /** What the run's model calls cost, by the price table (a result of an older runner has none). */
  cost_usd: z.number().nonnegative().default(0),
  reason: z.string().optional(),
});
export type RunnerResult = z.infer<typeof RunnerResult>;

/** Kubernetes keeps at most 4096 bytes of a container's termination message. */
export const TERMINATION_MESSAGE_LIMIT = 4096;

/**
 * Serializes a result so it fits the termination message: the free-text `reason` is shortened
 * (never the fields a machine reads) until the JSON fits.
 */
export function encodeRunnerResult(result: RunnerResult): string {
  let json = JSON.stringify(result);
  if (Buffer.byteLength(json) <= TERMINATION_MESSAGE_LIMIT || result.reason === undefined) return json;
  let reason = result.reason;
  while (Buffer.byteLength(json) > TERMINATION_MESSAGE_LIMIT && reason.length > 0) {
    const excess = Buffer.byteLength(json) - TERMINATION_MESSAGE_LIMIT;
    reason = reason.slice(0, Math.max(0, reason.length - excess - 2));
    json = JSON.stringify({ ...result, reason: `${reason}…` });
  }
  return json;
}
