import { formatIssues, type OutcomeStatus, RunnerResult, type RunUsage } from '@anton/contracts';
import { distrustedFact, type RunTask } from './reported-facts.ts';

/** How a run ended, as the Job (or the local child process) tells it. */
export interface RunEnd {
  /** The Job completed (the child exited 0), or it failed. */
  succeeded: boolean;
  /** Why it failed: the Job's Failed reason (DeadlineExceeded, BackoffLimitExceeded, PodFailurePolicy) or the exit. */
  failure?: { reason: string; message?: string };
  /** What the runner wrote to its termination log (the pod's termination message, the local result file). */
  message: string | undefined;
}

/** The part of a TaskOutcome the run decides. */
export interface RunOutcome {
  status: OutcomeStatus;
  pr_url?: string;
  reason?: string;
  usage?: RunUsage;
  cost_usd?: number;
}

const DEADLINE_EXCEEDED = 'DeadlineExceeded';
/** Enough of an unreadable message to say what it was (with FallbackToLogsOnError, the log's tail). */
const SNIPPET = 300;

/**
 * The one decision of what a run came to. The runner's own result wins, whatever the Job's
 * condition says (exit code 2 fails the Job by its podFailurePolicy, yet means "no changes" or
 * "rejected"), except that a Job stopped at its deadline timed out: the runner never finished.
 * A missing or unreadable result is a failure, with the reason saying so, and so is a result
 * whose task, branch or pull request is not the one `task` says was dispatched.
 */
export function decideOutcome(end: RunEnd, task: RunTask): RunOutcome {
  const read = readResult(end.message);
  const failure = end.failure && `${end.failure.reason}${end.failure.message ? `: ${end.failure.message}` : ''}`;
  if (end.failure?.reason === DEADLINE_EXCEEDED) {
    return {
      status: 'timed_out',
      reason: `the run exceeded its deadline (${failure})`,
      ...(read.ok && { usage: read.result.usage, cost_usd: read.result.cost_usd }),
    };
  }
  if (!read.ok) {
    const how = end.succeeded ? 'the runner completed' : `the run failed (${failure ?? 'no reason given'})`;
    return { status: 'failed', reason: `${how}, but ${read.problem}` };
  }
  const { result } = read;
  const distrusted = distrustedFact(result, task);
  if (distrusted !== undefined) return { status: 'failed', reason: distrusted, usage: result.usage };
  return {
    status: result.status,
    ...(result.pr_url !== undefined && { pr_url: result.pr_url }),
    ...(result.reason !== undefined
      ? { reason: result.reason }
      : result.status === 'failed' && failure !== undefined && { reason: failure }),
    usage: result.usage,
    cost_usd: result.cost_usd,
  };
}

type ReadResult = { ok: true; result: RunnerResult } | { ok: false; problem: string };

function readResult(message: string | undefined): ReadResult {
  const text = message?.trim() ?? '';
  if (text === '') return { ok: false, problem: 'it left no result (empty termination message)' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: `its result is not JSON: ${snippet(text)}` };
  }
  const parsed = RunnerResult.safeParse(json);
  if (!parsed.success) return { ok: false, problem: `its result is invalid: ${formatIssues(parsed.error)}` };
  return { ok: true, result: parsed.data };
}

const snippet = (text: string): string => (text.length > SNIPPET ? `${text.slice(0, SNIPPET)}…` : text);
