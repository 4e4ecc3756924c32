import type { RunnerResult, RunStatus, RunUsage } from '@anton/contracts';

/** 0 = pull request open; 2 = final, a retry would not change it; 1 = failed, may be retried. */
export type ExitCode = 0 | 1 | 2;

export interface RunOutcome {
  result: RunnerResult;
  exitCode: ExitCode;
}

export interface OutcomeFacts {
  taskId?: string | undefined;
  branch?: string | undefined;
  turns: number;
  reviewRounds: number;
  usage: RunUsage;
  costUsd: number;
}

export function outcome(
  status: RunStatus,
  facts: OutcomeFacts,
  extra: { prUrl?: string; reason?: string; permanent?: boolean } = {},
): RunOutcome {
  const result: RunnerResult = {
    status,
    ...(facts.taskId ? { task_id: facts.taskId } : {}),
    ...(extra.prUrl ? { pr_url: extra.prUrl } : {}),
    ...(facts.branch ? { branch: facts.branch } : {}),
    turns: facts.turns,
    review_rounds: facts.reviewRounds,
    usage: facts.usage,
    cost_usd: Math.round(facts.costUsd * 1e6) / 1e6,
    ...(extra.reason ? { reason: extra.reason } : {}),
  };
  return { result, exitCode: exitCodeFor(status, extra.permanent === true) };
}

export function exitCodeFor(status: RunStatus, permanent: boolean): ExitCode {
  if (status === 'pr_opened' || status === 'draft_opened') return 0;
  if (status === 'no_changes' || status === 'rejected' || permanent) return 2;
  return 1;
}
