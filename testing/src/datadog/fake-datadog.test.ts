import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDatadog } from './fake-datadog.ts';

describe('FakeDatadog (Events API v1) driven by fetch', () => {
  let datadog: FakeDatadog;
  const post = (body: unknown, headers: Record<string, string> = { 'dd-api-key': datadog.apiKey }) =>
    fetch(`${datadog.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    datadog = await FakeDatadog.start({ apiKey: 'dd-key-1' });
  });
  afterAll(() => datadog.close());

  it('stores an event and answers 202 with it, as Datadog does', async () => {
    const event = {
      title: 'anton opened a pull request',
      text: '%%% \nPR: https://github.com/acme/x/pull/1\n %%%',
      tags: ['service:checkout', 'env:prod'],
      alert_type: 'success',
      aggregation_key: 'abc123',
      priority: 'normal',
    };
    const res = await post(event);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { status: string; event: { id: number; id_str: string; url: string } };
    expect(body.status).toBe('ok');
    expect(body.event.id_str).toBe(String(body.event.id));
    expect(body.event.url).toContain(String(body.event.id));
    expect(datadog.events()).toEqual([{ id: body.event.id, ...event, date_happened: expect.any(Number) }]);
  });

  it('answers 403 Forbidden without the API key or with a wrong one, and stores nothing', async () => {
    const before = datadog.events().length;
    for (const headers of [{}, { 'dd-api-key': 'wrong' }] as Array<Record<string, string>>) {
      const res = await post({ title: 't', text: 'x' }, headers);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ errors: ['Forbidden'] });
    }
    const viaQuery = await fetch(`${datadog.url}/api/v1/events?api_key=dd-key-1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 't', text: 'x' }),
    });
    expect(viaQuery.status).toBe(202);
    expect(datadog.events()).toHaveLength(before + 1);
  });

  it.each([
    ['no title', { text: 'x' }, /title is required/],
    ['no text', { title: 't' }, /text is required/],
    ['tags that are not strings', { title: 't', text: 'x', tags: 'a,b' }, /tags must be a list/],
    ['an unknown alert_type', { title: 't', text: 'x', alert_type: 'critical' }, /alert_type/],
    ['an unknown priority', { title: 't', text: 'x', priority: 'high' }, /priority/],
    ['an aggregation_key over 100 characters', { title: 't', text: 'x', aggregation_key: 'k'.repeat(101) }, /100/],
    ['a text over 4000 characters', { title: 't', text: 'x'.repeat(4001) }, /4000/],
    ['a body that is not JSON', '{"title":', /JSON/],
  ])('answers 400 to %s', async (_, body, message) => {
    const before = datadog.events().length;
    const res = await post(body);
    expect(res.status).toBe(400);
    const { errors } = (await res.json()) as { errors: string[] };
    expect(errors[0]).toMatch(message);
    expect(datadog.events()).toHaveLength(before);
  });

  it('injects server errors and rate limits, then answers normally', async () => {
    datadog.serverError(1, 503).rateLimited(1, 2);
    const failed = await post({ title: 't', text: 'x' });
    expect(failed.status).toBe(503);
    const limited = await post({ title: 't', text: 'x' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-reset')).toBe('2');
    expect((await post({ title: 't', text: 'x' })).status).toBe(202);
    expect(datadog.received('/api/v1/events', 'POST').length).toBeGreaterThanOrEqual(3);
  });
});
