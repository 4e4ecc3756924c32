import { makeInformer, PatchStrategy, setHeaderOptions, type V1Job, Watch } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../wait-for.ts';
import { FakeKubernetes } from './fake-kubernetes.ts';
import { contextConfigMap, runnerJob } from './runner-job-manifest.ts';
import { clientsFor } from './test-clients.ts';

const ns = 'agents';
let fake: FakeKubernetes;
let clients: ReturnType<typeof clientsFor>;
const aborts: AbortController[] = [];

beforeEach(async () => {
  fake = await FakeKubernetes.start();
  clients = clientsFor(fake);
});
afterEach(async () => {
  for (const controller of aborts.splice(0)) controller.abort();
  await fake.close();
});

interface Seen {
  type: string;
  object: {
    kind?: string;
    code?: number;
    reason?: string;
    metadata?: { name?: string; resourceVersion?: string };
  } & Record<string, unknown>;
}

/** A client-node Watch, its events as they arrive, and its `done` callback as a promise. */
async function watch(path: string, query: Record<string, string | number | boolean | undefined> = {}) {
  const events: Seen[] = [];
  let finish: (err: unknown) => void = () => undefined;
  const done = new Promise<unknown>((resolve) => {
    finish = resolve;
  });
  const controller = await new Watch(clients.config).watch(
    path,
    query,
    (type, object) => events.push({ type, object }),
    (err) => finish(err ?? null),
  );
  aborts.push(controller);
  return { events, done };
}

const describeEvent = (e: Seen) => `${e.type} ${e.object.metadata?.name}`;
const rv = (e: Seen) => Number(e.object.metadata?.resourceVersion);

describe('watch', () => {
  it('streams ADDED and MODIFIED events through a Job lifecycle, with the termination message on the pod', async () => {
    const jobs = await watch(`/apis/batch/v1/namespaces/${ns}/jobs`);
    const pods = await watch(`/api/v1/namespaces/${ns}/pods`, { labelSelector: 'job-name=agent-job-w' });
    await clients.batch.createNamespacedJob({ namespace: ns, body: runnerJob('w') });
    await fake.settled();
    fake.setJobPhase(ns, 'agent-job-w', 'succeeded', { terminationMessage: '{"status":"pr_opened"}' });
    await waitFor(() => jobs.events.some((e) => JSON.stringify(e.object.status).includes('"Complete"')), {
      what: 'the Complete condition',
    });
    expect(jobs.events[0]).toMatchObject({ type: 'ADDED', object: { kind: 'Job', metadata: { name: 'agent-job-w' } } });
    expect(jobs.events.slice(1).every((e) => e.type === 'MODIFIED')).toBe(true);
    const rvs = jobs.events.map(rv);
    expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    const last = jobs.events.at(-1)?.object.status as { succeeded?: number; conditions?: { type: string }[] };
    expect(last.succeeded).toBe(1);
    expect(last.conditions?.map((c) => c.type)).toEqual(['SuccessCriteriaMet', 'Complete']);

    await waitFor(() => pods.events.some((e) => (e.object.status as { phase?: string }).phase === 'Succeeded'), {
      what: 'the pod succeeded',
    });
    expect(pods.events.map((e) => e.type)[0]).toBe('ADDED');
    const phases = pods.events.map((e) => (e.object.status as { phase: string }).phase);
    expect(phases.slice(0, 3)).toEqual(['Pending', 'Running', 'Succeeded']);
    const succeeded = pods.events.find((e) => (e.object.status as { phase: string }).phase === 'Succeeded');
    const status = succeeded?.object.status as { containerStatuses?: { name: string }[] } | undefined;
    const agent = status?.containerStatuses?.[0];
    expect(agent).toMatchObject({
      name: 'agent',
      state: { terminated: { exitCode: 0, reason: 'Completed', message: '{"status":"pr_opened"}' } },
    });
  });

  it('resumes from the last resourceVersion after dropWatches(), missing and repeating nothing', async () => {
    const first = await watch(`/api/v1/namespaces/${ns}/configmaps`);
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('a') });
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('b') });
    await waitFor(() => first.events.length === 2, { what: 'two ADDED events' });
    expect(fake.dropWatches()).toBe(1);
    expect(await first.done).toBeInstanceOf(Error);

    // Changes while no one watches.
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('c') });
    await clients.core.patchNamespacedConfigMap(
      { namespace: ns, name: 'agent-ctx-a', body: { data: { more: 'x' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await clients.core.deleteNamespacedConfigMap({ namespace: ns, name: 'agent-ctx-b' });

    const lastSeen = first.events.at(-1)?.object.metadata?.resourceVersion;
    const second = await watch(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: lastSeen });
    await waitFor(() => second.events.length === 3, { what: 'the three missed changes' });
    expect(second.events.map(describeEvent)).toEqual([
      'ADDED agent-ctx-c',
      'MODIFIED agent-ctx-a',
      'DELETED agent-ctx-b',
    ]);
    expect(second.events.every((e) => rv(e) > Number(lastSeen))).toBe(true);
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('d') });
    await waitFor(() => second.events.length === 4, { what: 'a live event after the replay' });
    expect(describeEvent(second.events[3] as Seen)).toBe('ADDED agent-ctx-d');
  });

  it('answers a watch from a compacted resourceVersion with an ERROR event carrying 410 Expired', async () => {
    const created = await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('old') });
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('new') });
    fake.compact();
    const stale = await watch(`/api/v1/namespaces/${ns}/configmaps`, {
      resourceVersion: created.metadata?.resourceVersion,
    });
    expect(await stale.done).toBeNull();
    expect(stale.events).toEqual([
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${created.metadata?.resourceVersion} (${fake.resourceVersion})`,
          reason: 'Expired',
          code: 410,
        },
      },
    ]);
    // From the current version on, watching works again.
    const fresh = await watch(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: fake.resourceVersion });
    await clients.core.deleteNamespacedConfigMap({ namespace: ns, name: 'agent-ctx-new' });
    await waitFor(() => fresh.events.length === 1, { what: 'the DELETED event' });
    expect(describeEvent(fresh.events[0] as Seen)).toBe('DELETED agent-ctx-new');
  });

  it('starts a watch without resourceVersion with the current objects, and applies the label selector to changes', async () => {
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('x') });
    const selected = await watch(`/api/v1/namespaces/${ns}/configmaps`, { labelSelector: 'state=claimed' });
    const all = await watch(`/api/v1/namespaces/${ns}/configmaps`, { allowWatchBookmarks: true });
    const relabel = (state: string | null) =>
      clients.core.patchNamespacedConfigMap(
        { namespace: ns, name: 'agent-ctx-x', body: { metadata: { labels: { state } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await relabel('claimed');
    await relabel(null);
    fake.bookmark();
    await waitFor(() => selected.events.length === 2 && all.events.length === 4, { what: 'the events' });
    // Entering the selector is an ADDED for that watch; leaving it, a DELETED.
    expect(selected.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
    expect(all.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'MODIFIED', 'BOOKMARK']);
    expect(all.events[3]?.object).toEqual({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { resourceVersion: fake.resourceVersion },
    });
  });

  it("keeps client-node's informer in step, also across a watch the server ends", async () => {
    const seen: string[] = [];
    const informer = makeInformer<V1Job>(
      clients.config,
      `/apis/batch/v1/namespaces/${ns}/jobs`,
      () => clients.batch.listNamespacedJob({ namespace: ns, labelSelector: 'app=anton-runner' }),
      'app=anton-runner',
    );
    informer.on('add', (job) => seen.push(`add ${job.metadata?.name}`));
    informer.on('delete', (job) => seen.push(`delete ${job.metadata?.name}`));
    await clients.batch.createNamespacedJob({ namespace: ns, body: runnerJob('i1') });
    await informer.start();
    try {
      await waitFor(() => fake.openWatches === 1, { what: 'the informer watching' });
      expect(informer.list().map((j) => j.metadata?.name)).toEqual(['agent-job-i1']);
      fake.endWatches();
      await clients.batch.createNamespacedJob({ namespace: ns, body: runnerJob('i2') });
      await clients.batch.deleteNamespacedJob({ namespace: ns, name: 'agent-job-i1', propagationPolicy: 'Background' });
      await waitFor(() => seen.includes('delete agent-job-i1'), { what: 'the informer catching up' });
      expect(seen).toEqual(['add agent-job-i1', 'add agent-job-i2', 'delete agent-job-i1']);
      expect(informer.list().map((j) => j.metadata?.name)).toEqual(['agent-job-i2']);
    } finally {
      await informer.stop();
    }
  });
});
