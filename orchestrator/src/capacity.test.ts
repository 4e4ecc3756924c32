import { describe, expect, it } from 'vitest';
import { Capacity } from './capacity.ts';

describe('Capacity', () => {
  it('reserves up to the cap, then makes the next wait until a runner finishes', async () => {
    const seen: number[] = [];
    const capacity = new Capacity(2, (used) => seen.push(used));
    expect(await capacity.acquire('a')).toBe('acquired');
    expect(await capacity.acquire('b')).toBe('acquired');
    let third: string | undefined;
    const waiting = capacity.acquire('c').then((result) => {
      third = result;
    });
    await Promise.resolve();
    expect(third).toBeUndefined();
    expect(capacity.waiting).toBe(1);

    capacity.update(['a', 'b']); // the watch sees both running: reservations become active runners
    expect(capacity.used).toBe(2);
    expect(third).toBeUndefined();
    capacity.update(['b'], ['a', 'b']); // a finished
    await waiting;
    expect(third).toBe('acquired');
    expect(capacity.used).toBe(2);
    expect(seen.at(-1)).toBe(2);
  });

  it('wakes waiters first come, first served, one per free slot', async () => {
    const capacity = new Capacity(1);
    capacity.update(['busy']);
    const order: string[] = [];
    const first = capacity.acquire('x').then(() => order.push('x'));
    const second = capacity.acquire('y', { timeoutMs: 50 }).then((r) => order.push(`y:${r}`));
    capacity.update([]);
    await Promise.all([first, second]);
    expect(order).toEqual(['x', 'y:timeout']);
    expect(capacity.used).toBe(1);
  });

  it('does not count a runner twice: one already running needs no new slot', async () => {
    const capacity = new Capacity(1);
    capacity.update(['job-a']);
    expect(await capacity.acquire('job-a')).toBe('acquired');
    expect(capacity.used).toBe(1);
  });

  it('gives a slot back when the runner was never started', async () => {
    const capacity = new Capacity(1);
    await capacity.acquire('a');
    const next = capacity.acquire('b');
    capacity.release('a');
    expect(await next).toBe('acquired');
  });

  it('stops waiting when aborted or timed out, leaving nothing reserved', async () => {
    const capacity = new Capacity(1);
    capacity.update(['busy']);
    const controller = new AbortController();
    const aborted = capacity.acquire('a', { signal: controller.signal });
    controller.abort();
    expect(await aborted).toBe('aborted');
    expect(await capacity.acquire('b', { timeoutMs: 10 })).toBe('timeout');
    expect(capacity.waiting).toBe(0);
    capacity.update([]);
    expect(capacity.used).toBe(0);
  });
});
