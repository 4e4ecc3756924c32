import { measureLongSession } from '@anton/runner/long-session';
import type { BenchContext } from '../support/context.ts';
import { type FigureResult, ratioOf } from '../support/report.ts';

const TURNS = 15;
const BILLING = { cacheReadMultiplier: 0.1, cacheWriteMultiplier: 1.25 };

/**
 * Figure 4: the same scripted 15-turn coder session on the sample repository, billed by
 * FakeAnthropic (cache reads 0.1×, 5-minute cache writes 1.25× the input price): the runner as
 * built (cache breakpoints, edit_file) beside the original's loop (whole history resent uncached,
 * the fix written as the whole file). Token counts are deterministic: one run of each.
 */
export async function tokenCost(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  ctx.progress('figure 4: the runner’s session');
  const anton = await measureLongSession({ turns: TURNS });
  ctx.progress('figure 4: the original’s loop');
  const original = await measureLongSession({ turns: TURNS, original: true });
  const ratio = ratioOf(anton.billedInputTokens, original.billedInputTokens);
  return {
    id: 'tokens',
    title: 'Token cost of a fix',
    rows: [
      {
        figure: `4 billed input tokens, ${TURNS}-turn fix`,
        unit: 'tokens',
        anton: anton.billedInputTokens,
        baseline: original.billedInputTokens,
        baselineName: 'original loop',
        ratio,
        ratioAsPercent: true,
        target: '≤ 35%',
        met: ratio !== undefined && ratio <= 0.35,
      },
      {
        figure: `4 output tokens, ${TURNS}-turn fix`,
        unit: 'tokens',
        anton: anton.outputTokens,
        baseline: original.outputTokens,
        baselineName: 'original loop',
        ratio: ratioOf(anton.outputTokens, original.outputTokens),
        ratioAsPercent: true,
      },
    ],
    details: { billing: BILLING, runner: anton, original },
    seconds: (performance.now() - started) / 1000,
  };
}
