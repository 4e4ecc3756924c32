import type { FakeAnthropic, FakeKubernetes, KubeObject } from '@anton/testing';
import type { V1ConfigMap, V1Job } from '@kubernetes/client-node';

/** The calls the orchestrator made for one task (`taskId`, claim `hash`), as it sent them. */
export interface RecordedCalls {
  taskId: string;
  hash: string;
  claim: V1ConfigMap;
  routing: { body: unknown; headers: Record<string, string> };
  job: V1Job;
  context: V1ConfigMap;
}

/** What the orchestrator sent for its last Job, to be replayed by the bare dispatcher. */
export function recordedCalls(kubernetes: FakeKubernetes, anthropic: FakeAnthropic): RecordedCalls {
  const posted = (pattern: RegExp) => kubernetes.received(pattern, 'POST').map((r) => r.json as KubeObject);
  const job = posted(/\/namespaces\/agents\/jobs$/).at(-1);
  const taskId = String(job?.metadata.name ?? '').replace(/^agent-job-/, '');
  const configMaps = posted(/\/namespaces\/agents\/configmaps$/);
  const claim = configMaps.find((c) => (c.data as Record<string, string> | undefined)?.['task-id'] === taskId);
  const context = configMaps.find((c) => c.metadata.name === `agent-ctx-${taskId}`);
  const routing = anthropic.received('/v1/messages', 'POST').at(-1);
  if (!job || !claim || !context || !routing) throw new Error('the orchestrator did not make the calls expected of it');
  const keep = ['content-type', 'anthropic-version', 'x-api-key', 'authorization'];
  const headers = Object.fromEntries(
    Object.entries(routing.headers).filter(
      (e): e is [string, string] => keep.includes(e[0]) && typeof e[1] === 'string',
    ),
  );
  return {
    taskId,
    hash: String(claim.metadata.name).replace(/^anton-dedup-/, ''),
    claim: claim as V1ConfigMap,
    routing: { body: routing.json, headers },
    job: job as V1Job,
    context: context as V1ConfigMap,
  };
}
