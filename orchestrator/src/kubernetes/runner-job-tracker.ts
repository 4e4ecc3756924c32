import { LABELS } from '@anton/contracts';
import type { V1Job } from '@kubernetes/client-node';
import type { Capacity } from '../capacity.ts';
import { isFinished, jobPhase } from './job-state.ts';
import type { JobInformer } from './kubernetes-api.ts';

/**
 * Follows the runner Jobs' watch: keeps the capacity's view of running Jobs current, and calls
 * `onFailed` once per Job that fails (to release its deduplication claim).
 */
export function trackRunnerJobs(
  informer: JobInformer,
  { capacity, onFailed }: { capacity: Capacity; onFailed: (job: V1Job) => void },
): void {
  let failedSeen = new Set<string>();
  informer.onChange(() => {
    const jobs = informer.list();
    const name = (job: V1Job) => job.metadata?.name ?? '';
    capacity.update(jobs.filter((job) => !isFinished(job)).map(name), jobs.map(name));

    const failed = jobs.filter((job) => jobPhase(job) === 'failed');
    for (const job of failed) {
      const uid = job.metadata?.uid ?? name(job);
      if (!failedSeen.has(uid)) onFailed(job);
    }
    // Only Jobs still listed are remembered, so the set never outgrows the namespace.
    failedSeen = new Set(failed.map((job) => job.metadata?.uid ?? name(job)));
  });
}

/** The task and incident a runner Job belongs to, from its labels. */
export function jobTask(job: V1Job): { taskId: string; dedupHash: string } | undefined {
  const labels = job.metadata?.labels ?? {};
  const taskId = labels[LABELS.taskId];
  const dedupHash = labels[LABELS.dedupHash];
  return taskId && dedupHash ? { taskId, dedupHash } : undefined;
}
