import { describe, expect, it } from 'vitest';
import { branchNameFor } from './fix-branch.ts';

describe('branchNameFor', () => {
  it.each([
    ['PROJ-123', 'fix/PROJ-123'],
    ['AYx_9:some/key', 'fix/AYx_9-some-key'],
    ['--weird id!--', 'fix/weird-id'],
    ['ünïcode ключ 42', 'fix/n-code------42'],
  ])('%s → %s', (id, branch) => {
    expect(branchNameFor(id)).toBe(branch);
  });

  it('keeps at most 60 characters and no trailing dash after the cut', () => {
    const branch = branchNameFor(`${'a'.repeat(59)}-${'b'.repeat(20)}`);
    expect(branch).toBe(`fix/${'a'.repeat(59)}`);
    expect(branchNameFor('x'.repeat(100))).toBe(`fix/${'x'.repeat(60)}`);
  });

  it('gives an id with no usable character a stable hash', () => {
    expect(branchNameFor('???')).toMatch(/^fix\/issue-[0-9a-f]{12}$/);
    expect(branchNameFor('???')).toBe(branchNameFor('???'));
    expect(branchNameFor('???')).not.toBe(branchNameFor('!!!'));
  });
});
