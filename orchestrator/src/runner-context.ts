import { type AgentTask, issueIdOf, type RoutedBy, type RouterPlan, RunnerContext } from '@anton/contracts';
import type { ResolvedRepository } from './resolve-repository.ts';

/** A ConfigMap holds at most 1 MiB; the webhook body is the only part of task.json that can grow that large. */
const MAX_RAW_PAYLOAD_BYTES = 256 * 1024;

export interface ContextInput {
  task: AgentTask;
  repository: ResolvedRepository;
  plan: RouterPlan;
  routedBy: RoutedBy;
}

/** task.json: what the runner needs, in the one schema the runner also validates with. */
export function buildRunnerContext({ task, repository, plan, routedBy }: ContextInput): RunnerContext {
  const description = [task.title, task.description, task.url && `Link: ${task.url}`].filter(Boolean).join('\n\n');
  const oversized = Buffer.byteLength(JSON.stringify(task.raw_payload)) > MAX_RAW_PAYLOAD_BYTES;
  return RunnerContext.parse({
    repo_url: repository.url,
    base_branch: repository.baseBranch,
    task_description: description || task.external_id,
    issue_id: issueIdOf(task.external_id),
    task: oversized ? { ...task, raw_payload: {}, raw_payload_omitted: 'larger than 256 KiB' } : task,
    plan,
    routed_by: routedBy,
    ...(repository.entry?.instructions !== undefined && { instructions: repository.entry.instructions }),
    ...(repository.entry?.test_command !== undefined && { test_command: repository.entry.test_command }),
  });
}
