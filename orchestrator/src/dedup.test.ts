import { describe, expect, it } from 'vitest';
import { type ClaimStore, Deduplicator, dedupHash, MemoryClaimStore, type RunnerStatus } from './dedup.ts';

const hash = dedupHash({ source: 'datadog', external_id: '1', dedup_key: 'monitor-7:service:web' });
const day = 86_400_000;
const hour = 3_600_000;

function setup(statuses: Record<string, RunnerStatus> = {}) {
  let now = Date.parse('2025-01-15T10:00:00Z');
  const clock = () => now;
  const store = new MemoryClaimStore(clock);
  const dedup = new Deduplicator({
    store,
    status: async (taskId) => statuses[taskId] ?? 'missing',
    windowMs: day,
    pendingMs: hour,
    now: clock,
  });
  return { store, dedup, statuses, advance: (ms: number) => (now += ms) };
}

describe('dedupHash', () => {
  it('is 63 hex digits of the dedup_key, or of source:external_id without one', () => {
    expect(hash).toMatch(/^[0-9a-f]{63}$/);
    expect(dedupHash({ source: 'jira', external_id: 'ORD-1' })).toBe(
      dedupHash({ source: 'jira', external_id: 'ORD-1', dedup_key: 'jira:ORD-1' }),
    );
    expect(dedupHash({ source: 'jira', external_id: 'ORD-1' })).not.toBe(
      dedupHash({ source: 'jira', external_id: 'ORD-2' }),
    );
  });
});

describe('Deduplicator', () => {
  it('lets the first task claim the incident and makes others duplicates while its Job runs or is done', async () => {
    const { dedup, statuses } = setup();
    expect(await dedup.claim(hash, 'task-a')).toEqual({ kind: 'claimed' });
    expect(await dedup.claim(hash, 'task-b')).toEqual({ kind: 'duplicate', heldBy: 'task-a', status: 'missing' });
    statuses['task-a'] = 'active';
    expect(await dedup.claim(hash, 'task-c')).toMatchObject({ kind: 'duplicate', status: 'active' });
    statuses['task-a'] = 'done';
    expect(await dedup.claim(hash, 'task-d')).toMatchObject({ kind: 'duplicate', status: 'done' });
  });

  it('stops blocking on a holder that never got its runner once it could no longer be in flight', async () => {
    const { dedup, advance } = setup();
    await dedup.claim(hash, 'task-a'); // then dead-lettered while its release failed: no Job, no message
    advance(hour - 1);
    expect(await dedup.claim(hash, 'task-b')).toMatchObject({ kind: 'duplicate', status: 'missing' });
    advance(1);
    expect(await dedup.claim(hash, 'task-b')).toEqual({ kind: 'claimed' });
  });

  it("keeps blocking within the window on a holder whose runner existed and is gone (its Job's TTL)", async () => {
    const { dedup, store, advance } = setup();
    await dedup.claim(hash, 'task-a');
    await dedup.markDispatched(hash, 'task-a');
    expect((await store.read(hash))?.dispatched).toBe(true);
    advance(2 * hour);
    expect(await dedup.claim(hash, 'task-b')).toMatchObject({ kind: 'duplicate', status: 'missing' });
  });

  it('lets the holder claim again (a redelivery or retry of the same task)', async () => {
    const { dedup } = setup();
    await dedup.claim(hash, 'task-a');
    expect(await dedup.claim(hash, 'task-a')).toEqual({ kind: 'claimed' });
  });

  it("takes over a failed holder's claim", async () => {
    const { dedup, store } = setup({ 'task-a': 'failed' });
    await dedup.claim(hash, 'task-a');
    expect(await dedup.claim(hash, 'task-b')).toEqual({ kind: 'claimed' });
    expect((await store.read(hash))?.taskId).toBe('task-b');
  });

  it('takes over a claim older than the window, unless its Job still runs', async () => {
    const { dedup, advance, statuses } = setup({ 'task-a': 'done' });
    await dedup.claim(hash, 'task-a');
    advance(day - 1);
    expect(await dedup.claim(hash, 'task-b')).toMatchObject({ kind: 'duplicate' });
    advance(1);
    statuses['task-a'] = 'active';
    expect(await dedup.claim(hash, 'task-b')).toMatchObject({ kind: 'duplicate', status: 'active' });
    statuses['task-a'] = 'done';
    expect(await dedup.claim(hash, 'task-b')).toEqual({ kind: 'claimed' });
  });

  it('releases only a claim the task still holds', async () => {
    const { dedup, store } = setup();
    await dedup.claim(hash, 'task-a');
    await dedup.release(hash, 'task-b');
    expect((await store.read(hash))?.taskId).toBe('task-a');
    await dedup.release(hash, 'task-a');
    expect(await store.read(hash)).toBeUndefined();
    expect(await dedup.claim(hash, 'task-b')).toEqual({ kind: 'claimed' });
  });

  it('has exactly one winner when many claim at once', async () => {
    const { dedup } = setup();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => dedup.claim(hash, `task-${i}`)));
    expect(results.filter((r) => r.kind === 'claimed')).toHaveLength(1);
  });

  it('removes a stale claim only in the version it read, so a replica that replaced it keeps its own', async () => {
    const { store } = setup();
    await store.create(hash, 'task-a');
    const stale = await store.read(hash);
    if (!stale) throw new Error('claim missing');
    await store.remove(hash, stale.version);
    await store.create(hash, 'task-b');
    expect(await store.remove(hash, stale.version)).toBe(false);
    expect((await store.read(hash))?.taskId).toBe('task-b');
  });

  it('sweeps claims older than the window', async () => {
    const { dedup, store, advance } = setup();
    await dedup.claim(hash, 'task-a');
    advance(day / 2);
    await dedup.claim('f'.repeat(63), 'task-b');
    advance(day / 2);
    expect(await dedup.sweep()).toBe(1);
    expect((await store.list()).map((c) => c.taskId)).toEqual(['task-b']);
  });

  it('gives up with a retryable error when the claim keeps changing hands', async () => {
    const flapping: ClaimStore = {
      create: async () => 'exists',
      read: async () => undefined,
      remove: async () => false,
      list: async () => [],
      markDispatched: async () => undefined,
    };
    const dedup = new Deduplicator({ store: flapping, status: async () => 'missing', windowMs: day });
    await expect(dedup.claim(hash, 'task-a')).rejects.toThrow(/contended/);
  });

  it('deduplicates nothing with a zero window', async () => {
    const { store } = setup();
    const dedup = new Deduplicator({ store, status: async () => 'active', windowMs: 0 });
    expect(await dedup.claim(hash, 'a')).toEqual({ kind: 'claimed' });
    expect(await dedup.claim(hash, 'b')).toEqual({ kind: 'claimed' });
  });
});
