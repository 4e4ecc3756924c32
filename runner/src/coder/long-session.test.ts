import { describe, expect, it } from 'vitest';
import { measureLongSession } from '../testing/long-session.ts';

describe('a 15-turn coder session', () => {
  it('records its billed input tokens, which prompt caching keeps far below the uncached cost', async () => {
    const cost = await measureLongSession({ turns: 15 });
    console.error(
      `15-turn session: billed input tokens with caching ${Math.round(cost.billedInputTokens)}, ` +
        `without caching ${cost.uncachedInputTokens} (${((cost.billedInputTokens / cost.uncachedInputTokens) * 100).toFixed(1)}%)`,
    );
    expect(cost.turns).toBe(15);
    expect(cost.usagePerTurn).toHaveLength(15);
    // Every turn after the first reads the prefix the turn before it wrote.
    for (const turn of cost.usagePerTurn.slice(1)) {
      expect(turn.cache_read_input_tokens).toBeGreaterThan(0);
      expect(turn.input_tokens).toBeLessThan(turn.cache_read_input_tokens);
    }
    expect(cost.billedInputTokens).toBeGreaterThan(0);
    expect(cost.billedInputTokens).toBeLessThan(cost.uncachedInputTokens * 0.5);
  });
});
