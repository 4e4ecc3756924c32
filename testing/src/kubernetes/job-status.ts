import type { KubeObject } from './resources.ts';
import { timestamp } from './system-fields.ts';

// Reading a Job's and a pod's state, and the conditions the Job controller writes.

type Json = Record<string, unknown>;

export const SUCCESS_MESSAGE = 'Reached expected number of succeeded pods';

export const spec = (obj: KubeObject): Json => (obj.spec ?? {}) as Json;
export const status = (obj: KubeObject): Json => (obj.status ?? {}) as Json;

const hasCondition = (job: KubeObject, type: string): boolean =>
  ((status(job).conditions as Json[] | undefined) ?? []).some((c) => c.type === type && c.status === 'True');

export const isFinished = (job: KubeObject): boolean => hasCondition(job, 'Complete') || hasCondition(job, 'Failed');
export const isTerminal = (pod: KubeObject): boolean => ['Succeeded', 'Failed'].includes(String(status(pod).phase));

export function condition(type: string, reason: string, message: string): Json {
  const now = timestamp();
  return { type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason, message };
}
