import { describe, expect, it } from 'vitest';
import { exitCodeFor } from './run-outcome.ts';

describe('exitCodeFor', () => {
  it('is 0 only for an open pull request, 2 for final outcomes, 1 for retryable failures', () => {
    expect(exitCodeFor('pr_opened', false)).toBe(0);
    expect(exitCodeFor('no_changes', false)).toBe(2);
    expect(exitCodeFor('rejected', false)).toBe(2);
    expect(exitCodeFor('failed', true)).toBe(2);
    expect(exitCodeFor('failed', false)).toBe(1);
  });
});
