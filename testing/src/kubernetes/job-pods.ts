import { randomBytes } from 'node:crypto';
import { JOB_TRACKING_FINALIZER } from './garbage-collector.ts';
import type { KubeObject } from './resources.ts';
import { generateName, newUid, timestamp } from './system-fields.ts';

// The pods the Job controller creates, and the statuses the kubelet reports for them.

type Json = Record<string, unknown>;

export const NODE_NAME = 'fake-node';
const HOST_IP = '10.0.0.10';

export interface Termination {
  exitCode: number;
  /** The container's termination message (what it wrote to its terminationMessagePath). */
  message?: string;
  /** `Completed`, `Error`, `OOMKilled`...; by default Completed for exit code 0, else Error. */
  reason?: string;
}

const containers = (pod: KubeObject, key: 'containers' | 'initContainers'): Json[] =>
  ((pod.spec as Json)[key] as Json[] | undefined) ?? [];

export const isSidecar = (container: Json): boolean => container.restartPolicy === 'Always';

/** The pod a Job's template describes, as the Job controller creates it (after admission). */
export function buildPod(job: KubeObject): KubeObject {
  const template = ((job.spec as Json).template ?? {}) as Json;
  const templateMeta = (template.metadata ?? {}) as Json;
  const spec = structuredClone((template.spec ?? {}) as Json);
  spec.nodeName = NODE_NAME;
  spec.serviceAccountName ??= 'default';
  spec.serviceAccount = spec.serviceAccountName;
  spec.priority ??= 0;
  spec.enableServiceLinks ??= true;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  spec.tolerations = [
    ...((spec.tolerations as Json[] | undefined) ?? []),
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ];
  const jobName = job.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: generateName(`${jobName}-`),
      generateName: `${jobName}-`,
      namespace: job.metadata.namespace ?? '',
      uid: newUid(),
      creationTimestamp: timestamp(),
      labels: { ...((templateMeta.labels as Record<string, string>) ?? {}) },
      ...(templateMeta.annotations ? { annotations: { ...(templateMeta.annotations as Record<string, string>) } } : {}),
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          name: jobName,
          uid: job.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      finalizers: [JOB_TRACKING_FINALIZER],
    },
    spec,
    status: {
      phase: 'Pending',
      qosClass: 'BestEffort',
      conditions: [condition('PodScheduled', 'True')],
    },
  };
}

function condition(type: string, status: 'True' | 'False', reason?: string): Json {
  return { type, status, lastProbeTime: null, lastTransitionTime: timestamp(), ...(reason ? { reason } : {}) };
}

const containerId = (): string => `containerd://${randomBytes(32).toString('hex')}`;

function running(container: Json, startedAt: string, restartCount = 0, lastState: Json = {}): Json {
  return {
    name: container.name,
    image: container.image,
    imageID: '',
    containerID: containerId(),
    ready: true,
    started: true,
    restartCount,
    state: { running: { startedAt } },
    lastState,
  };
}

function terminatedState(termination: Termination, startedAt: string): Json {
  return {
    exitCode: termination.exitCode,
    reason: termination.reason ?? (termination.exitCode === 0 ? 'Completed' : 'Error'),
    ...(termination.message === undefined ? {} : { message: termination.message }),
    startedAt,
    finishedAt: timestamp(),
    containerID: containerId(),
  };
}

/** The kubelet's report once every container has started. */
export function runningStatus(pod: KubeObject, podIndex: number): Json {
  const startedAt = timestamp();
  const ip = `10.244.0.${(podIndex % 250) + 2}`;
  return {
    phase: 'Running',
    conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((t) =>
      condition(t, 'True'),
    ),
    hostIP: HOST_IP,
    hostIPs: [{ ip: HOST_IP }],
    podIP: ip,
    podIPs: [{ ip }],
    startTime: startedAt,
    qosClass: 'BestEffort',
    ...(containers(pod, 'initContainers').length > 0
      ? {
          initContainerStatuses: containers(pod, 'initContainers').map((c) =>
            isSidecar(c)
              ? running(c, startedAt)
              : {
                  ...running(c, startedAt),
                  ready: true,
                  started: false,
                  state: { terminated: terminatedState({ exitCode: 0 }, startedAt) },
                },
          ),
        }
      : {}),
    containerStatuses: containers(pod, 'containers').map((c) => running(c, startedAt)),
  };
}

/**
 * The kubelet's report once the containers have exited: `target` with `termination`, the other
 * regular containers with 0, and native sidecars stopped after them.
 */
export function terminatedStatus(pod: KubeObject, target: string, termination: Termination): Json {
  const status = structuredClone(pod.status as Json);
  const failed = termination.exitCode !== 0;
  const stop = (statuses: Json[] | undefined, pick: (name: string) => Termination) =>
    statuses?.map((s) => {
      const state = s.state as Json;
      if (state.terminated) return s;
      const startedAt = ((state.running as Json | undefined)?.startedAt as string) ?? timestamp();
      return {
        ...s,
        ready: false,
        started: false,
        state: { terminated: terminatedState(pick(String(s.name)), startedAt) },
      };
    });
  status.containerStatuses = stop(status.containerStatuses as Json[], (name) =>
    name === target ? termination : { exitCode: 0 },
  );
  if (status.initContainerStatuses)
    status.initContainerStatuses = stop(status.initContainerStatuses as Json[], () => ({ exitCode: 0 }));
  status.phase = failed ? 'Failed' : 'Succeeded';
  const reason = failed ? 'PodFailed' : 'PodCompleted';
  status.conditions = [
    condition('PodReadyToStartContainers', 'False'),
    condition('Initialized', 'True'),
    condition('Ready', 'False', reason),
    condition('ContainersReady', 'False', reason),
    condition('PodScheduled', 'True'),
  ];
  return status;
}

/** A container of a pod with restartPolicy OnFailure that failed and was restarted in place. */
export function restartedStatus(pod: KubeObject, target: string, termination: Termination): Json {
  const status = structuredClone(pod.status as Json);
  status.containerStatuses = (status.containerStatuses as Json[]).map((s) => {
    if (s.name !== target) return s;
    const startedAt = (((s.state as Json).running as Json | undefined)?.startedAt as string) ?? timestamp();
    return running(s, timestamp(), Number(s.restartCount ?? 0) + 1, {
      terminated: terminatedState(termination, startedAt),
    });
  });
  return status;
}

/** The container a termination applies to by default: `agent` when there is one, else the first. */
export function defaultTarget(pod: KubeObject): string {
  const names = containers(pod, 'containers').map((c) => String(c.name));
  return names.includes('agent') ? 'agent' : (names[0] ?? '');
}
