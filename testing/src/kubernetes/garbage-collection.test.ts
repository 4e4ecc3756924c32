import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../wait-for.ts';
import { FakeKubernetes } from './fake-kubernetes.ts';
import { contextConfigMap, runnerJob } from './runner-job-manifest.ts';
import { apiError, clientsFor } from './test-clients.ts';

const ns = 'agents';
let fake: FakeKubernetes;
let clients: ReturnType<typeof clientsFor>;

beforeEach(async () => {
  fake = await FakeKubernetes.start();
  clients = clientsFor(fake);
});
afterEach(async () => {
  await fake.close();
});

describe('deletion and garbage collection', () => {
  async function jobWithContext(id: string) {
    const job = await clients.batch.createNamespacedJob({ namespace: ns, body: runnerJob(id) });
    const owner = { name: job.metadata?.name ?? '', uid: job.metadata?.uid ?? '' };
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap(id, owner) });
    await fake.settled();
    expect(fake.pods(ns)).toHaveLength(1);
    return job;
  }

  it('Background: deletes the Job at once, then its pods and the ConfigMap it owns', async () => {
    await jobWithContext('bg');
    const answer = await clients.batch.deleteNamespacedJob({
      namespace: ns,
      name: 'agent-job-bg',
      propagationPolicy: 'Background',
    });
    expect(answer).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'agent-job-bg', kind: 'jobs' },
    });
    expect(fake.jobs(ns)).toEqual([]);
    await waitFor(() => fake.configMaps(ns).length === 0 && fake.pods(ns).length === 0, {
      what: 'dependents collected',
    });
  });

  it('Foreground: the Job stays, marked for deletion, until its dependents are gone', async () => {
    await jobWithContext('fg');
    // The client reads a DELETE's answer as a V1Status, which drops an object's metadata: read it raw.
    const response = await fetch(`${fake.url}/apis/batch/v1/namespaces/${ns}/jobs/agent-job-fg`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ propagationPolicy: 'Foreground' }),
    });
    const marked = (await response.json()) as {
      kind: string;
      metadata: { deletionTimestamp?: string; finalizers?: string[] };
    };
    expect(marked.kind).toBe('Job');
    expect(marked.metadata.deletionTimestamp).toBeDefined();
    expect(marked.metadata.finalizers).toContain('foregroundDeletion');
    await waitFor(() => fake.jobs(ns).length === 0, { what: 'the Job deleted after its dependents' });
    expect(fake.configMaps(ns)).toEqual([]);
    expect(fake.pods(ns)).toEqual([]);
  });

  it('a Job deleted without a policy orphans its dependents, with the server warning (batch/v1 default)', async () => {
    const job = await jobWithContext('orphan');
    const response = await fetch(`${fake.url}/apis/batch/v1/namespaces/${ns}/jobs/agent-job-orphan`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${fake.token}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('warning')).toContain('child pods are preserved by default');
    await waitFor(() => fake.jobs(ns).length === 0, { what: 'the Job deleted' });
    await fake.settled();
    const [cm] = fake.configMaps(ns);
    expect(cm?.metadata.ownerReferences).toBeUndefined();
    expect(fake.pods(ns)[0]?.metadata.ownerReferences?.some((r) => r.uid === job.metadata?.uid)).toBeFalsy();
  });

  it('deletes a ConfigMap with a uid precondition, and refuses a wrong one with 409', async () => {
    const cm = await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('pre') });
    const wrong = await apiError(
      clients.core.deleteNamespacedConfigMap({
        namespace: ns,
        name: 'agent-ctx-pre',
        body: { preconditions: { uid: 'other' } },
      }),
    );
    expect(wrong).toMatchObject({ code: 409, status: { reason: 'Conflict' } });
    await clients.core.deleteNamespacedConfigMap({
      namespace: ns,
      name: 'agent-ctx-pre',
      body: { preconditions: { uid: cm.metadata?.uid } },
    });
    expect(fake.configMaps(ns)).toEqual([]);
    const again = await apiError(clients.core.deleteNamespacedConfigMap({ namespace: ns, name: 'agent-ctx-pre' }));
    expect(again.code).toBe(404);
  });

  it('collects an object created with an owner that does not exist', async () => {
    const orphan = contextConfigMap('dangling', {
      name: 'agent-job-gone',
      uid: '00000000-0000-4000-8000-000000000000',
    });
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: orphan });
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('kept') });
    await waitFor(() => fake.configMaps(ns).length === 1, { what: 'the dangling ConfigMap collected' });
    expect(fake.configMaps(ns)[0]?.metadata.name).toBe('agent-ctx-kept');
  });

  it('follows ownerReferences changed after creation: a released dependent stays, an adopted one goes', async () => {
    const job = await jobWithContext('owner');
    const owner = { name: job.metadata?.name ?? '', uid: job.metadata?.uid ?? '' };
    const [ownerRef] = contextConfigMap('x', owner).metadata?.ownerReferences ?? [];
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('adopted') });
    const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await clients.core.patchNamespacedConfigMap(
      { namespace: ns, name: 'agent-ctx-owner', body: { metadata: { ownerReferences: null } } },
      mergePatch,
    );
    await clients.core.patchNamespacedConfigMap(
      { namespace: ns, name: 'agent-ctx-adopted', body: { metadata: { ownerReferences: [ownerRef] } } },
      mergePatch,
    );
    await clients.batch.deleteNamespacedJob({ namespace: ns, name: owner.name, propagationPolicy: 'Background' });
    await waitFor(() => fake.pods(ns).length === 0, { what: 'the pod collected' });
    await fake.settled();
    expect(fake.configMaps(ns).map((cm) => cm.metadata.name)).toEqual(['agent-ctx-owner']);
  });
});
