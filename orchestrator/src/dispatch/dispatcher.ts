import type { AgentTask, RoutedBy, RouterPlan } from '@anton/contracts';
import type { Logger } from 'pino';
import type { RunnerStatus } from '../dedup.ts';
import type { ResolvedRepository } from '../resolve-repository.ts';

/** Everything decided about a task: what the runner gets. */
export interface DispatchRequest {
  task: AgentTask;
  repository: ResolvedRepository;
  plan: RouterPlan;
  routedBy: RoutedBy;
  dedupHash: string;
}

export interface DispatchResult {
  runnerName: string;
  /** False when the runner already existed: a redelivered task, whose first attempt got that far. */
  created: boolean;
}

/**
 * Starts a task's runner: a Kubernetes Job, or a local child process. Idempotent per task_id: a
 * second dispatch of one task never starts a second runner. Throws RetryableError or PermanentError.
 */
export interface Dispatcher {
  /** The name a task's runner has; the capacity counts runners by it. */
  runnerName(taskId: string): string;
  dispatch(request: DispatchRequest, logger: Logger): Promise<DispatchResult>;
  /** Where a task's runner stands, for deduplication. */
  status(taskId: string): Promise<RunnerStatus>;
}
