import { LABELS } from '@anton/contracts';
import { type FakeKubernetes, type KubeObject, waitFor } from '@anton/testing';

export interface JobWatch {
  /** When each Job was first seen (performance.now()), by name. */
  readonly seen: Map<string, number>;
  /** Jobs deleted by `reap`. */
  readonly reaped: number;
  close(): void;
}

export interface JobWatchOptions {
  /**
   * Deletes a Job (and its dedup claim) once this says it is done with, as the TTL controller
   * would 10 minutes later: the store, the fake's lists and the orchestrator's informer cache stay
   * the size a cluster's would be over a run of a few minutes' worth of tasks.
   */
  reap?: (job: KubeObject) => boolean;
}

/** Watches Jobs in `namespace` of the fake API server, noting when each one appears. */
export async function watchJobs(
  kubernetes: FakeKubernetes,
  namespace: string,
  options: JobWatchOptions = {},
): Promise<JobWatch> {
  const seen = new Map<string, number>();
  const reaped = new Set<string>();
  const controller = new AbortController();
  const headers = { authorization: `Bearer ${kubernetes.token}`, 'content-type': 'application/json' };
  const remove = (path: string) =>
    fetch(`${kubernetes.url}${path}`, {
      method: 'DELETE',
      headers,
      body: JSON.stringify({ propagationPolicy: 'Background' }),
    }).then(
      (r) => r.text(),
      () => undefined,
    );
  const reap = (job: KubeObject) => {
    const name = job.metadata.name ?? '';
    if (!options.reap || reaped.has(name) || !options.reap(job)) return;
    reaped.add(name);
    void remove(`/apis/batch/v1/namespaces/${namespace}/jobs/${name}`);
    const hash = job.metadata.labels?.[LABELS.dedupHash];
    if (hash) void remove(`/api/v1/namespaces/${namespace}/configmaps/anton-dedup-${hash}`);
  };

  const before = kubernetes.openWatches;
  const response = await fetch(`${kubernetes.url}/apis/batch/v1/namespaces/${namespace}/jobs?watch=true`, {
    headers,
    signal: controller.signal,
  });
  if (!response.ok || !response.body) throw new Error(`watching Jobs failed: ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      const now = performance.now();
      buffer += value;
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
        const event = JSON.parse(line) as { type: string; object: KubeObject };
        const name = event.object.metadata?.name;
        if (!name || event.type === 'DELETED') continue;
        if (!seen.has(name)) seen.set(name, now);
        reap(event.object);
      }
    }
  })();
  await waitFor(() => kubernetes.openWatches > before, { what: 'the Job watch to open' });
  return {
    seen,
    get reaped() {
      return reaped.size;
    },
    close: () => controller.abort(),
  };
}
