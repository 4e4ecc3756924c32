import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAI } from './fake-openai.ts';

const request = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Review this diff' }] };

let fake: FakeOpenAI;

beforeEach(async () => {
  fake = await FakeOpenAI.start();
  fake.setHandler(() => ({ content: 'answered' }));
});
afterEach(() => fake.close());

const sdk = (options: { maxRetries: number; timeout?: number }) =>
  new OpenAI({ baseURL: fake.baseURL, apiKey: fake.apiKey, ...options });

describe('FakeOpenAI faults, as the real SDK sees them', () => {
  it('answers 429 rate_limit_exceeded with retry-after, and the SDK waits that long before retrying', async () => {
    fake.rateLimited(1, 1);
    const error = await sdk({ maxRetries: 0 })
      .chat.completions.create(request)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error).toMatchObject({
      status: 429,
      code: 'rate_limit_exceeded',
      requestID: expect.stringMatching(/^req_/),
    });

    fake.rateLimited(1, 1);
    const started = Date.now();
    const completion = await sdk({ maxRetries: 1 }).chat.completions.create(request);
    // The SDK's own first backoff is at most 0.5 s; only retry-after makes it wait a full second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(completion.choices[0]?.message.content).toBe('answered');
  });

  it('answers 500 server_error and 503 overload, which the SDK retries', async () => {
    fake.serverError(1);
    const error = await sdk({ maxRetries: 0 })
      .chat.completions.create(request)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error).toMatchObject({ status: 500, type: 'server_error' });

    fake.serverError(1).overloaded(1);
    const completion = await sdk({ maxRetries: 2 }).chat.completions.create(request);
    expect(completion.choices[0]?.message.content).toBe('answered');
    const retries = fake
      .received('/v1/chat/completions')
      .slice(1)
      .map((r) => r.headers['x-stainless-retry-count']);
    expect(retries).toEqual(['0', '1', '2']);
  });

  it('drops a connection, which surfaces as a connection error when retries are off', async () => {
    fake.dropConnection(1);
    const error = await sdk({ maxRetries: 0 })
      .chat.completions.create(request)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(error).not.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
  });

  it('answers slowly enough to trip the SDK timeout', async () => {
    fake.slowAnswer(10_000, 1);
    const error = await sdk({ maxRetries: 0, timeout: 200 })
      .chat.completions.create(request)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(fake.usageLog).toHaveLength(0);
  });
});
