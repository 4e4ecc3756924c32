import { describe, expect, it } from 'vitest';
import { retryAfterOf, retryDelay } from './retry-steps.ts';

const steps = [10_000, 60_000, 300_000];

describe('retryDelay', () => {
  it('waits the n-th step before the n-th retry, the last step for every retry past it', () => {
    expect([1, 2, 3, 4, 9].map((n) => retryDelay(steps, n))).toEqual([10_000, 60_000, 300_000, 300_000, 300_000]);
  });

  it('waits at least what a Retry-After asked: the first step that long, the longest when none is', () => {
    expect(retryDelay(steps, 1, 30_000)).toBe(60_000);
    expect(retryDelay(steps, 1, 60_000)).toBe(60_000);
    expect(retryDelay(steps, 2, 5_000)).toBe(60_000);
    expect(retryDelay(steps, 1, 3_600_000)).toBe(300_000);
  });
});

describe('retryAfterOf', () => {
  it("finds the dependency's Retry-After on the error or its causes", () => {
    const throttled = Object.assign(new Error('429'), { retryAfterMs: 2000 });
    expect(retryAfterOf(new Error('cannot create the Job', { cause: throttled }))).toBe(2000);
    expect(retryAfterOf(new Error('plain'))).toBeUndefined();
  });
});
