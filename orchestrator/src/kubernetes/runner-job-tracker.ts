import type { V1Job } from '@kubernetes/client-node';
import type { Capacity } from '../capacity.ts';
import { isFinished } from './job-state.ts';
import type { JobInformer } from './kubernetes-api.ts';

/**
 * Keeps the capacity's view of running Jobs current from the runner Jobs' watch. (What a finished
 * Job came to, and the claim of its incident, is the Job outcome watcher's business.)
 */
export function trackRunnerJobs(informer: JobInformer, { capacity }: { capacity: Capacity }): void {
  informer.onChange(() => {
    const jobs = informer.list();
    const name = (job: V1Job) => job.metadata?.name ?? '';
    capacity.update(jobs.filter((job) => !isFinished(job)).map(name), jobs.map(name));
  });
}
