import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { BUDGET_EXCEEDED, DEFAULT_MODEL_PRICES } from '@anton/contracts';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.ts';
import { type RunnerHarness, startRunnerHarness } from '../testing/runner-harness.ts';
import { BudgetMeter } from './budget-meter.ts';
import { loadProxyConfig } from './config.ts';
import { CLAIM_PATH, PROXY_KEY_HEADER } from './protocol.ts';
import { createProxyServer } from './server.ts';

const KEY = 'budgetKey0123456789abcdefghijklmnopqrstuvwx';

describe('the credential proxy keeps the task budget', () => {
  let h: RunnerHarness;
  let server: Server;
  let proxyUrl: string;

  beforeAll(async () => {
    h = await startRunnerHarness();
    // One scripted answer costs far more than this: the second call is past the budget.
    const config = loadProxyConfig({ ...h.proxyEnv(), TASK_BUDGET_USD: '0.00001' });
    server = createProxyServer(config, createLogger({ level: 'silent', name: 'budget-test' }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await h.close();
  });

  it('tells the runner its budget when claimed, then refuses model calls once the answers spent it', async () => {
    const claim = await fetch(`${proxyUrl}${CLAIM_PATH}`, {
      method: 'POST',
      headers: { [PROXY_KEY_HEADER]: KEY },
      body: JSON.stringify({ branch: 'fix/BUDGET-1' }),
    });
    expect(await claim.json()).toMatchObject({ budget_usd: 0.00001 });

    const anthropic = new Anthropic({
      baseURL: `${proxyUrl}/anthropic`,
      apiKey: 'placeholder',
      maxRetries: 2,
      defaultHeaders: { [PROXY_KEY_HEADER]: KEY },
    });
    const ask = () =>
      anthropic.messages.create({
        model: 'claude-sonnet-5-5',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'hi' }],
      });
    h.anthropic.enqueue({ content: [{ type: 'text', text: 'first answer, billed' }] });
    h.anthropic.enqueue({ content: [{ type: 'text', text: 'never reached' }] });
    await ask();
    const before = h.anthropic.received('/v1/messages').length;

    const refused = await ask().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(Anthropic.APIError);
    expect((refused as InstanceType<typeof Anthropic.APIError>).status).toBe(402);
    expect((refused as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      error: { type: BUDGET_EXCEEDED, message: expect.stringMatching(/budget of \$0\.00 is spent/) },
    });
    // Not retried (402), and nothing reached the provider.
    expect(h.anthropic.received('/v1/messages').length).toBe(before);

    const openai = new OpenAI({
      baseURL: `${proxyUrl}/openai/v1`,
      apiKey: 'placeholder',
      maxRetries: 2,
      defaultHeaders: { [PROXY_KEY_HEADER]: KEY },
    });
    const reviewer = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
      .catch((err: unknown) => err);
    expect((reviewer as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect((reviewer as InstanceType<typeof OpenAI.APIError>).code).toBe(BUDGET_EXCEEDED);
    expect(h.openai.requests.length).toBe(0);
  });
});

describe('BudgetMeter', () => {
  const answer = (value: unknown) => Buffer.from(JSON.stringify(value));

  it('prices every kind of Anthropic token', () => {
    const meter = new BudgetMeter(3, DEFAULT_MODEL_PRICES);
    const usage = {
      input_tokens: 1_000_000,
      output_tokens: 100_000,
      cache_creation_input_tokens: 200_000,
      cache_read_input_tokens: 1_000_000,
    };
    // $2 + $1 + $0.50 + $0.20
    expect(meter.record('anthropic', undefined, answer({ model: 'claude-sonnet-5-5', usage }))).toBeCloseTo(3.7);
    expect(meter.exhausted).toBe(true);
  });

  it('counts OpenAI cached prompt tokens at the cached price, not twice', () => {
    const meter = new BudgetMeter(3, DEFAULT_MODEL_PRICES);
    const usage = { prompt_tokens: 1_000_000, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 400_000 } };
    // 600k × $2.50 + 400k × $1.25
    expect(meter.record('openai', 'gpt-4o', answer({ model: 'gpt-4o-2024-08-06', usage }))).toBeCloseTo(2.0);
    expect(meter.exhausted).toBe(false);
  });

  it('fails closed: an answer whose usage it cannot read spends the rest of the budget', () => {
    const meter = new BudgetMeter(3, DEFAULT_MODEL_PRICES);
    expect(meter.record('anthropic', 'claude-sonnet-5-5', Buffer.from('not json'))).toBe(3);
    expect(meter.exhausted).toBe(true);
  });

  it('prices an unknown model at the dearest rates in the table', () => {
    const meter = new BudgetMeter(100, DEFAULT_MODEL_PRICES);
    const usage = { input_tokens: 1_000_000, output_tokens: 0 };
    expect(meter.record('anthropic', undefined, answer({ model: 'claude-unknown-9', usage }))).toBeCloseTo(2.5);
  });
});
