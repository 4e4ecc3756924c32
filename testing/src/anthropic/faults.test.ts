import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeAnthropic } from './fake-anthropic.ts';

const request = { model: 'claude-sonnet-4-6', max_tokens: 64, messages: [{ role: 'user' as const, content: 'hi' }] };

let fake: FakeAnthropic;

beforeEach(async () => {
  fake = await FakeAnthropic.start();
  fake.setHandler(() => ({ content: [{ type: 'text', text: 'answered' }] }));
});
afterEach(() => fake.close());

const sdk = (options: { maxRetries: number; timeout?: number }) =>
  new Anthropic({ baseURL: fake.url, apiKey: fake.apiKey, ...options });

describe('FakeAnthropic faults, as the real SDK sees them', () => {
  it('answers 529 overloaded_error in the API shape, which the SDK retries', async () => {
    fake.overloaded(1);
    const error = await sdk({ maxRetries: 0 })
      .messages.create(request)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect(error).toMatchObject({ status: 529, type: 'overloaded_error', requestID: expect.stringMatching(/^req_/) });

    fake.overloaded(2);
    const message = await sdk({ maxRetries: 2 }).messages.create(request);
    expect(message.content).toMatchObject([{ type: 'text', text: 'answered' }]);
    const retries = fake
      .received('/v1/messages')
      .slice(1)
      .map((r) => r.headers['x-stainless-retry-count']);
    expect(retries).toEqual(['0', '1', '2']);
  });

  it('answers 429 rate_limit_error with retry-after, and the SDK waits that long before retrying', async () => {
    fake.rateLimited(1, 1);
    const started = Date.now();
    const message = await sdk({ maxRetries: 1 }).messages.create(request);
    // The SDK's own first backoff is at most 0.5 s; only retry-after makes it wait a full second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(message.content).toMatchObject([{ type: 'text', text: 'answered' }]);
    expect(fake.received('/v1/messages')).toHaveLength(2);
  });

  it('answers 500 api_error, which the SDK retries', async () => {
    fake.serverError(1);
    const error = await sdk({ maxRetries: 0 })
      .messages.create(request)
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 500, type: 'api_error' });

    fake.serverError(1);
    await expect(sdk({ maxRetries: 1 }).messages.create(request)).resolves.toMatchObject({ type: 'message' });
  });

  it('drops a connection, which surfaces as a connection error when retries are off', async () => {
    fake.dropConnection(1);
    const error = await sdk({ maxRetries: 0 })
      .messages.create(request)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Anthropic.APIConnectionError);
    expect(error).not.toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
  });

  it('answers slowly enough to trip the SDK timeout, and the abandoned request uses no script', async () => {
    fake.slowAnswer(10_000, 1);
    const error = await sdk({ maxRetries: 0, timeout: 200 })
      .messages.create(request)
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);

    const scripted = await FakeAnthropic.start();
    scripted.enqueue({ content: [{ type: 'text', text: 'only reply' }] });
    // The delay ends before the SDK's retry arrives: answered, it would eat the only reply.
    scripted.slowAnswer(400, 1);
    const client = new Anthropic({ baseURL: scripted.url, apiKey: scripted.apiKey, maxRetries: 1, timeout: 200 });
    const message = await client.messages.create(request);
    expect(message.content).toMatchObject([{ type: 'text', text: 'only reply' }]);
    expect(scripted.usageLog).toHaveLength(1);
    await scripted.close();
  });
});
