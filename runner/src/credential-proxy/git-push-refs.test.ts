import { describe, expect, it } from 'vitest';
import { parsePushCommands, refusePush } from './git-push-refs.ts';

function pkt(line: string): string {
  return (line.length + 4).toString(16).padStart(4, '0') + line;
}
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);

describe('push commands', () => {
  it('reads ref updates after shallow lines, up to the flush', () => {
    const body = Buffer.from(
      `${pkt(`shallow ${A}\n`)}${pkt(`${Z} ${B} refs/heads/fix/X-1\0report-status side-band-64k\n`)}${pkt(`${A} ${B} refs/heads/fix/X-2\n`)}0000PACK…`,
    );
    expect(parsePushCommands(body)).toEqual({
      state: 'done',
      updates: [
        { oldOid: Z, newOid: B, ref: 'refs/heads/fix/X-1' },
        { oldOid: A, newOid: B, ref: 'refs/heads/fix/X-2' },
      ],
    });
  });

  it('asks for more bytes until the command list is complete', () => {
    const full = Buffer.from(`${pkt(`${Z} ${B} refs/heads/fix/X\0caps\n`)}0000`);
    expect(parsePushCommands(full.subarray(0, 10))).toEqual({ state: 'incomplete' });
    expect(parsePushCommands(full.subarray(0, full.length - 2))).toEqual({ state: 'incomplete' });
    expect(parsePushCommands(full).state).toBe('done');
  });

  it('rejects garbage', () => {
    expect(parsePushCommands(Buffer.from('PACK\0\0\0\x02'))).toMatchObject({ state: 'invalid' });
    expect(parsePushCommands(Buffer.from('0000'))).toMatchObject({ state: 'invalid' });
  });

  const own = { branch: 'fix/X', lease: undefined };
  it("allows only creating the run's own branch, or moving it from the declared value", () => {
    expect(refusePush([{ oldOid: Z, newOid: B, ref: 'refs/heads/fix/X' }], own)).toBeUndefined();
    expect(refusePush([{ oldOid: A, newOid: B, ref: 'refs/heads/fix/X' }], { ...own, lease: A })).toBeUndefined();
  });

  it.each([
    [
      'another task’s fix/ branch',
      [{ oldOid: A, newOid: B, ref: 'refs/heads/fix/OTHER-1' }],
      /only update refs\/heads\/fix\/X/,
    ],
    ['the default branch', [{ oldOid: A, newOid: B, ref: 'refs/heads/main' }], /only update refs\/heads\/fix\/X/],
    ['a tag', [{ oldOid: Z, newOid: B, ref: 'refs/tags/v1' }], /not refs\/tags\/v1/],
    ['a delete', [{ oldOid: A, newOid: Z, ref: 'refs/heads/fix/X' }], /may not delete/],
    [
      'a forced update over an undeclared value',
      [{ oldOid: A, newOid: B, ref: 'refs/heads/fix/X' }],
      /did not declare/,
    ],
    [
      'two refs at once',
      [
        { oldOid: Z, newOid: B, ref: 'refs/heads/fix/X' },
        { oldOid: Z, newOid: B, ref: 'refs/heads/fix/Y' },
      ],
      /exactly one ref/,
    ],
  ])('refuses %s', (_what, updates, reason) => {
    expect(refusePush(updates, own)).toMatch(reason);
  });
});
