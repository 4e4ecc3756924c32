import { z } from 'zod';
import { BranchName } from './git-names.ts';

export const Source = z.enum(['jira', 'datadog', 'sonarcloud']);
export type Source = z.infer<typeof Source>;

export const Priority = z.enum(['P1', 'P2', 'P3', 'P4']);
export type Priority = z.infer<typeof Priority>;

/**
 * The normalized task the ingester publishes on `agent_events` / `task.created`.
 * Wire-compatible with the original: snake_case keys, the original's seven fields unchanged in
 * meaning, the added fields optional, and unknown keys kept (looseObject) so a newer producer
 * never breaks an older consumer.
 */
export const AgentTask = z.looseObject({
  task_id: z.uuid(),
  source: Source,
  external_id: z.string().min(1),
  title: z.string(),
  priority: Priority,
  raw_payload: z.record(z.string(), z.unknown()),
  // The original wrote Python's isoformat(): with or without an offset, microseconds included.
  created_at: z.iso.datetime({ offset: true, local: true }),

  event: z.string().optional(),
  description: z.string().optional(),
  url: z.string().optional(),
  dedup_key: z.string().min(1).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  repository: z.string().min(1).optional(),
  /** The branch to clone and target: what was analysed (Sonar), when the source knows it better than the routing map. */
  base_branch: BranchName.optional(),
  /** The commit the alerting service runs (Datadog's `git.commit.sha`): the coder is told when the branch has moved on. */
  deployed_commit: z
    .string()
    .regex(/^[0-9a-f]{7,40}$/i)
    .optional(),
});
export type AgentTask = z.infer<typeof AgentTask>;
