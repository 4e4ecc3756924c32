import type { RunnerStatus } from '../src/dedup.ts';
import type { Dispatcher, DispatchRequest, DispatchResult } from '../src/dispatch/dispatcher.ts';

/** A dispatcher that records runners in memory; a test scripts failures and statuses. */
export class MemoryDispatcher implements Dispatcher {
  readonly runners = new Map<string, DispatchRequest>();
  readonly statuses = new Map<string, RunnerStatus>();
  /** Thrown by the next dispatches, in order. */
  readonly failures: Error[] = [];

  runnerName(taskId: string): string {
    return `runner-${taskId}`;
  }

  async dispatch(request: DispatchRequest): Promise<DispatchResult> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    const runnerName = this.runnerName(request.task.task_id);
    const created = !this.runners.has(runnerName);
    if (created) {
      this.runners.set(runnerName, request);
      this.statuses.set(request.task.task_id, 'active');
    }
    return { runnerName, created };
  }

  async status(taskId: string): Promise<RunnerStatus> {
    return this.statuses.get(taskId) ?? 'missing';
  }
}
