import type { KubeObject } from './resources.ts';

// matchPodFailurePolicy (pkg/controller/job/pod_failure_policy.go), ported.

type Json = Record<string, unknown>;

export interface PolicyVerdict {
  action?: 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';
  /** Whether the failure counts towards backoffLimit (not when an Ignore rule matched). */
  countFailed: boolean;
  /** The Job condition message when a FailJob rule matched. */
  message?: string;
}

function matchingContainer(statuses: Json[] | undefined, requirement: Json): Json | undefined {
  return statuses?.find((status) => {
    const terminated = (status.state as Json | undefined)?.terminated as Json | undefined;
    if (!terminated) return false;
    if (requirement.containerName !== undefined && requirement.containerName !== status.name) return false;
    const exitCode = Number(terminated.exitCode);
    // Containers that succeeded are never matched.
    if (exitCode === 0) return false;
    const values = (requirement.values as number[] | undefined) ?? [];
    if (requirement.operator === 'In') return values.includes(exitCode);
    if (requirement.operator === 'NotIn') return !values.includes(exitCode);
    return false;
  });
}

export function matchPodFailurePolicy(policy: Json | undefined, pod: KubeObject): PolicyVerdict {
  const status = (pod.status ?? {}) as Json;
  const rules = (policy?.rules as Json[] | undefined) ?? [];
  for (const [index, rule] of rules.entries()) {
    const action = rule.action as PolicyVerdict['action'];
    let message: string | undefined;
    if (rule.onExitCodes) {
      const requirement = rule.onExitCodes as Json;
      const container =
        matchingContainer(status.containerStatuses as Json[], requirement) ??
        matchingContainer(status.initContainerStatuses as Json[], requirement);
      if (!container) continue;
      const exitCode = ((container.state as Json).terminated as Json).exitCode;
      message = `Container ${String(container.name)} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed with exit code ${String(exitCode)} matching ${String(action)} rule at index ${index}`;
    } else if (rule.onPodConditions) {
      const patterns = rule.onPodConditions as Json[];
      const condition = ((status.conditions as Json[] | undefined) ?? []).find((c) =>
        patterns.some((p) => p.type === c.type && (p.status ?? 'True') === c.status),
      );
      if (!condition) continue;
      message = `Pod ${pod.metadata.namespace}/${pod.metadata.name} has condition ${String(condition.type)} matching ${String(action)} rule at index ${index}`;
    } else continue;
    switch (action) {
      case 'Ignore':
        return { action, countFailed: false };
      case 'Count':
      case 'FailIndex':
        return { action, countFailed: true };
      case 'FailJob':
        return { action, countFailed: true, message };
    }
  }
  return { countFailed: true };
}
