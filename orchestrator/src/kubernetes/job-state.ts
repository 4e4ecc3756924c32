import type { V1Job } from '@kubernetes/client-node';

export type JobPhase = 'active' | 'succeeded' | 'failed';

/**
 * Where a Job stands, from its conditions: Complete or SuccessCriteriaMet → succeeded; Failed or
 * FailureTarget (the podFailurePolicy has decided, pods may still be terminating) → failed.
 */
export function jobPhase(job: V1Job): JobPhase {
  const conditions = (job.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type);
  if (conditions.includes('Failed') || conditions.includes('FailureTarget')) return 'failed';
  if (conditions.includes('Complete') || conditions.includes('SuccessCriteriaMet')) return 'succeeded';
  return 'active';
}

export const isFinished = (job: V1Job): boolean => jobPhase(job) !== 'active';
