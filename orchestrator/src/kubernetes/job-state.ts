import type { V1Job, V1JobCondition } from '@kubernetes/client-node';

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

/**
 * The condition that ends a Job for good: Complete, or Failed (with its reason: DeadlineExceeded,
 * BackoffLimitExceeded, PodFailurePolicy). Unlike the interim SuccessCriteriaMet / FailureTarget,
 * it comes once the pods are gone, so their termination messages are final.
 */
export function finalCondition(job: V1Job): V1JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed'));
}
