import { z } from 'zod';
import { AgentTask } from './agent-task.ts';
import { BranchName, RepositoryUrl } from './git-names.ts';
import { RoutedBy, RouterPlan } from './router-plan.ts';

const ISSUE_ID_MAX_LENGTH = 200;

/** task.json's `issue_id` of a task (the runner's branch is named by it): its external id, bounded. */
export function issueIdOf(externalId: string): string {
  return externalId.slice(0, ISSUE_ID_MAX_LENGTH);
}

/**
 * `task.json`, the runner's context: written by the orchestrator into the Job's ConfigMap, read by
 * the runner. The four top-level fields are what the original runner read, so a hand-written file
 * with only `repo_url`, `task_description` and `issue_id` is valid too (base_branch defaults to main).
 */
export const RunnerContext = z.looseObject({
  repo_url: RepositoryUrl,
  base_branch: BranchName.default('main'),
  task_description: z.string().min(1),
  issue_id: z.string().min(1).max(ISSUE_ID_MAX_LENGTH),
  task: AgentTask.optional(),
  plan: RouterPlan.optional(),
  routed_by: RoutedBy.optional(),
  /** Extra instructions from the routing entry that selected the repository. */
  instructions: z.string().max(4000).optional(),
  /** The routing entry's test command: overrides the one the runner detects in the repository. */
  test_command: z.string().min(1).max(500).optional(),
});
export type RunnerContext = z.infer<typeof RunnerContext>;
export type RunnerContextInput = z.input<typeof RunnerContext>;
