import { z } from 'zod';
import { Source } from './agent-task.ts';
import { RoutedBy, TemplateId } from './router-plan.ts';
import { RunUsage } from './usage.ts';

export const OutcomeStatus = z.enum(['pr_opened', 'draft_opened', 'no_changes', 'rejected', 'failed', 'timed_out']);
export type OutcomeStatus = z.infer<typeof OutcomeStatus>;

/** Published on `agent_events` / `task.completed` once a task's runner has ended, one per task. */
export const TaskOutcome = z.looseObject({
  task_id: z.uuid(),
  source: Source,
  external_id: z.string(),
  status: OutcomeStatus,
  template_id: TemplateId.optional(),
  routed_by: RoutedBy.optional(),
  pr_url: z.string().optional(),
  reason: z.string().optional(),
  usage: RunUsage.optional(),
  /** USD the run's model calls cost (unknown when the runner left no result). */
  cost_usd: z.number().nonnegative().optional(),
  finished_at: z.iso.datetime({ offset: true }),
  /** What the reporters say about the task (added fields: consumers of the original ignore them). */
  title: z.string().optional(),
  url: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  /** The incident's deduplication hash (Datadog's aggregation key). */
  dedup_hash: z.string().optional(),
});
export type TaskOutcome = z.infer<typeof TaskOutcome>;
