import { FakeKubernetes, kubernetesStatusFault } from '@anton/testing';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Deduplicator } from '../dedup.ts';
import { createKubernetesApi, loadKubeConfig } from './client-node-api.ts';
import { claimName, KubernetesClaimStore } from './kubernetes-claim-store.ts';

const hash = 'c'.repeat(63);
let fake: FakeKubernetes;

/** One orchestrator replica's view: its own client, store and deduplicator on the shared cluster. */
function replica(status: () => Promise<'active' | 'failed' | 'missing'> = async () => 'missing') {
  const logger = pino({ level: 'silent' });
  const api = createKubernetesApi(loadKubeConfig(fake.kubeconfigPath), 'agents', logger);
  const store = new KubernetesClaimStore(api, { policy: { retries: 2, baseDelayMs: 1, maxDelayMs: 5 }, logger });
  return { api, store, dedup: new Deduplicator({ store, status, windowMs: 86_400_000 }) };
}

beforeEach(async () => {
  fake = await FakeKubernetes.start();
});
afterEach(() => fake.close());

describe('KubernetesClaimStore', () => {
  it('marks a claim dispatched only in the version it read', async () => {
    const { store } = replica();
    await store.create(hash, 'task-a');
    const first = await store.read(hash);
    expect(first?.dispatched).toBe(false);
    await store.markDispatched(hash, first?.version ?? '');
    expect((await store.read(hash))?.dispatched).toBe(true);
    await store.remove(hash, first?.version ?? '');
    await store.create(hash, 'task-b');
    await expect(store.markDispatched(hash, first?.version ?? '')).rejects.toMatchObject({ status: 409 });
    expect((await store.read(hash))?.dispatched).toBe(false);
  });

  it('stores a claim as a ConfigMap named from the hash, dated by the API server', async () => {
    const { store } = replica();
    expect(await store.create(hash, 'task-a')).toBe('created');
    expect(await store.create(hash, 'task-b')).toBe('exists');
    const claim = await store.read(hash);
    expect(claim?.taskId).toBe('task-a');
    const configMap = fake.get('ConfigMap', 'agents', claimName(hash));
    expect(configMap?.metadata?.labels).toEqual({
      'app.kubernetes.io/managed-by': 'anton-orchestrator',
      'app.kubernetes.io/component': 'dedup-claim',
      'anton.dev/dedup-hash': hash,
    });
    expect(claim?.claimedAt.toISOString().slice(0, 19)).toBe(
      String(configMap?.metadata?.creationTimestamp).slice(0, 19),
    );
    expect(await store.list()).toEqual([{ ...claim, hash }]);
  });

  it('lets two replicas claiming one incident at once agree on exactly one winner', async () => {
    const [a, b] = [replica(), replica()];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).dedup.claim(hash, `task-${i}`)),
    );
    expect(results.filter((r) => r.kind === 'claimed')).toHaveLength(1);
    expect(fake.configMaps('agents')).toHaveLength(1);
  });

  it('retries a claim through a 503', async () => {
    const { store } = replica();
    fake.inject(kubernetesStatusFault(503, 'ServiceUnavailable', 'busy'), { times: 2, method: 'POST' });
    expect(await store.create(hash, 'task-a')).toBe('created');
  });

  it('removes a claim only in the version it was read (uid precondition)', async () => {
    const { store } = replica();
    await store.create(hash, 'task-a');
    const stale = await store.read(hash);
    expect(await store.remove(hash, stale?.version ?? '')).toBe(true);
    await store.create(hash, 'task-b');
    expect(await store.remove(hash, stale?.version ?? '')).toBe(false);
    expect((await store.read(hash))?.taskId).toBe('task-b');
  });

  it("takes over a failed holder's claim across replicas", async () => {
    const first = replica();
    await first.dedup.claim(hash, 'task-a');
    const second = replica(async () => 'failed');
    expect(await second.dedup.claim(hash, 'task-b')).toEqual({ kind: 'claimed' });
    expect((await second.store.read(hash))?.taskId).toBe('task-b');
  });
});
