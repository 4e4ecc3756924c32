import type { RunnerContext } from '@anton/contracts';
import { type ChatRequest, FakeOpenAI } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiClient } from '../clients.ts';
import { PermanentFailure } from '../errors.ts';
import { LIMITS } from '../tools/output-limits.ts';
import { createReviewer, type Reviewer, UnreadableReview } from './reviewer.ts';

const context: RunnerContext = {
  repo_url: 'https://github.com/acme/shop.git',
  base_branch: 'main',
  issue_id: 'SHOP-7',
  task_description: 'Discount is wrong',
};
const input = { context, diff: 'diff --git a/x b/x\n+fixed\n', stat: ' x | 1 +', summary: 'Fix x' };

describe('reviewer', () => {
  let fake: FakeOpenAI;
  let review: Reviewer;
  const lastRequest = () => fake.requests.at(-1)?.json as ChatRequest;

  beforeAll(async () => {
    fake = await FakeOpenAI.start();
    review = createReviewer(
      openaiClient({ baseURL: fake.baseURL, apiKey: fake.apiKey }, { maxRetries: 1, timeoutMs: 10_000 }),
      { model: 'gpt-4o' },
    );
  });
  afterAll(() => fake.close());

  it('asks for a strict structured verdict and reads it', async () => {
    fake.enqueue({ content: JSON.stringify({ approved: false, reason: 'No test.', problems: ['add a test'] }) });
    const result = await review(input);
    expect(result.verdict).toEqual({ approved: false, reason: 'No test.', problems: ['add a test'] });
    expect(result.usage.input_tokens).toBeGreaterThan(0);
    const request = lastRequest();
    expect(request.model).toBe('gpt-4o');
    expect(request.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { name: 'review_verdict', strict: true, schema: { additionalProperties: false } },
    });
    const user = String(request.messages.at(-1)?.content);
    expect(user).toContain('<task_data>\nDiscount is wrong\n</task_data>');
    expect(user).toContain('## Files changed\nx | 1 +');
    expect(user).toContain('+fixed');
    expect(fake.failures).toEqual([]);
  });

  it('cuts the diff at 80,000 characters, keeping the complete file list', async () => {
    fake.enqueue({ content: JSON.stringify({ approved: true, reason: 'ok', problems: [] }) });
    await review({ ...input, diff: 'd'.repeat(100_000) });
    const user = String(lastRequest().messages.at(-1)?.content);
    expect(user).toContain(`[… diff truncated: ${100_000 - LIMITS.reviewDiffChars} more characters`);
    expect(user.length).toBeLessThan(LIMITS.reviewDiffChars + 2_000);
  });

  it('retries a 500 through the SDK', async () => {
    fake.serverError(1);
    fake.enqueue({ content: JSON.stringify({ approved: true, reason: 'Fine.', problems: [] }) });
    expect((await review(input)).verdict.approved).toBe(true);
    expect(fake.received('/v1/chat/completions').length).toBeGreaterThanOrEqual(2);
  });

  it('treats a refusal as an unreadable review, not as a verdict', async () => {
    fake.enqueue({ refusal: 'I cannot review this.' });
    await expect(review(input)).rejects.toBeInstanceOf(UnreadableReview);
  });
});

describe('a reviewer model OpenAI no longer serves', () => {
  let fake: FakeOpenAI;
  const approve = { content: JSON.stringify({ approved: true, reason: 'ok', problems: [] }) };
  const client = () =>
    openaiClient({ baseURL: fake.baseURL, apiKey: fake.apiKey }, { maxRetries: 4, timeoutMs: 10_000 });
  const models = () => fake.received('/v1/chat/completions').map((r) => (r.json as ChatRequest).model);

  beforeAll(async () => {
    fake = await FakeOpenAI.start();
    fake.retire('gpt-4o');
  });
  afterAll(() => fake.close());

  it('switches to OPENAI_FALLBACK_MODEL, once, for the rest of the run', async () => {
    fake.requests.length = 0;
    fake.enqueue(approve, approve);
    const review = createReviewer(client(), { model: 'gpt-4o', fallback: 'gpt-4.1' });
    expect(await review(input)).toMatchObject({ model: 'gpt-4.1', verdict: { approved: true } });
    expect((await review(input)).model).toBe('gpt-4.1');
    expect(models()).toEqual(['gpt-4o', 'gpt-4.1', 'gpt-4.1']);
  });

  it('without a fallback fails permanently, naming the variable, with one request and no retry', async () => {
    fake.requests.length = 0;
    const review = createReviewer(client(), { model: 'gpt-4o' });
    const error = await review(input).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PermanentFailure);
    expect(String(error)).toMatch(
      /the reviewer model gpt-4o is not available \(OpenAI: 404 The model `gpt-4o` does not exist.*set OPENAI_MODEL to a current model, or OPENAI_FALLBACK_MODEL/,
    );
    expect(models()).toEqual(['gpt-4o']);
  });

  it('fails permanently when the fallback is gone too', async () => {
    fake.requests.length = 0;
    const review = createReviewer(client(), { model: 'gpt-4o', fallback: 'gpt-4o-2024-05-13' });
    await expect(review(input)).rejects.toThrow(
      /neither reviewer model is available: gpt-4o nor OPENAI_FALLBACK_MODEL gpt-4o-2024-05-13/,
    );
    expect(models()).toEqual(['gpt-4o', 'gpt-4o-2024-05-13']);
  });
});
