import type { V1ContainerStateTerminated, V1Job, V1Pod } from '@kubernetes/client-node';
import { finalCondition } from '../kubernetes/job-state.ts';
import type { RunEnd } from './decide-outcome.ts';

/** The runner's container; its sidecar (the credential proxy) has nothing to say about the outcome. */
export const AGENT_CONTAINER = 'agent';

/**
 * How a finished Job ended, for `decideOutcome`: its final condition, and the termination message
 * of the agent container that ended last (a Job retried by its backoffLimit has several pods; the
 * last one's word counts). Undefined while the Job has not finished.
 */
export function jobRunEnd(job: V1Job, pods: readonly V1Pod[]): RunEnd | undefined {
  const condition = finalCondition(job);
  if (!condition) return undefined;
  const own = pods.filter((pod) => pod.metadata?.ownerReferences?.some((ref) => ref.uid === job.metadata?.uid));
  const last = own
    .flatMap((pod) => {
      const terminated = agentTermination(pod);
      return terminated ? [{ pod, terminated }] : [];
    })
    .sort(byEnd)
    .at(-1)?.terminated;
  const succeeded = condition.type === 'Complete';
  return {
    succeeded,
    ...(!succeeded && {
      failure: {
        reason: condition.reason ?? 'Failed',
        ...(condition.message !== undefined && { message: condition.message }),
      },
    }),
    message: last?.message,
  };
}

/** When the Job ended, by its final condition: the outcome's `finished_at`. */
export function jobFinishedAt(job: V1Job): Date {
  const condition = finalCondition(job);
  const at = condition?.lastTransitionTime ?? job.status?.completionTime;
  return at ? new Date(at) : new Date();
}

function agentTermination(pod: V1Pod): V1ContainerStateTerminated | undefined {
  const status = pod.status?.containerStatuses?.find((s) => s.name === AGENT_CONTAINER);
  return status?.state?.terminated ?? status?.lastState?.terminated;
}

const time = (at: Date | string | undefined): number => (at ? new Date(at).getTime() : 0);

/**
 * Oldest end first. Timestamps have whole seconds, so a tie falls back to the pod's creation and
 * then to its resourceVersion: opaque in general, but the only order left between two pods that
 * ended in the same second (the Job controller's backoff makes that rare in a real cluster).
 */
function byEnd(a: { pod: V1Pod; terminated: V1ContainerStateTerminated }, b: typeof a): number {
  return (
    time(a.terminated.finishedAt) - time(b.terminated.finishedAt) ||
    time(a.pod.metadata?.creationTimestamp) - time(b.pod.metadata?.creationTimestamp) ||
    Number(a.pod.metadata?.resourceVersion ?? 0) - Number(b.pod.metadata?.resourceVersion ?? 0)
  );
}
