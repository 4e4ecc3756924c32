import { describe, expect, it } from 'vitest';
import { encodeRunnerResult, RunnerResult, TERMINATION_MESSAGE_LIMIT } from './runner-result.ts';
import { emptyUsage } from './usage.ts';

const base: RunnerResult = {
  status: 'failed',
  turns: 3,
  review_rounds: 1,
  usage: { coder: emptyUsage(), reviewer: emptyUsage() },
  cost_usd: 0.42,
  reason: 'clone failed',
};

describe('RunnerResult', () => {
  it('round-trips through the termination message', () => {
    expect(RunnerResult.parse(JSON.parse(encodeRunnerResult(base)))).toEqual(base);
  });

  it('shortens only the reason so the message fits the 4096-byte termination limit', () => {
    const long = { ...base, reason: 'é'.repeat(10_000) };
    const encoded = encodeRunnerResult(long);
    expect(Buffer.byteLength(encoded)).toBeLessThanOrEqual(TERMINATION_MESSAGE_LIMIT);
    const decoded = RunnerResult.parse(JSON.parse(encoded));
    expect(decoded).toMatchObject({ status: 'failed', turns: 3, review_rounds: 1 });
    expect(decoded.reason?.endsWith('…')).toBe(true);
  });

  it('rejects an unknown status and names it', () => {
    const result = RunnerResult.safeParse({ ...base, status: 'done' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['status']);
  });
});
