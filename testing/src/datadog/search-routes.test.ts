import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDatadog } from './fake-datadog.ts';

let datadog: FakeDatadog;
const now = Date.now();

beforeAll(async () => {
  datadog = await FakeDatadog.start();
  datadog.addLog(
    { timestamp: new Date(now - 60_000), service: 'orders', status: 'error', message: 'older', tags: ['env:prod'] },
    { timestamp: new Date(now - 30_000), service: 'orders', status: 'error', message: 'newer', tags: ['env:prod'] },
    { timestamp: new Date(now - 30_000), service: 'orders', status: 'info', message: 'info', tags: ['env:prod'] },
  );
  datadog.addSpan({ timestamp: new Date(now - 10_000), service: 'orders', resource: 'GET /', error: true });
});
afterAll(() => datadog.close());

async function search(path: string, body: unknown, appKey = datadog.appKey) {
  const response = await fetch(`${datadog.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'dd-api-key': datadog.apiKey, 'dd-application-key': appKey },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    json: (await response.json()) as { data?: Array<{ attributes: Record<string, unknown> }>; errors?: string[] },
  };
}

describe('FakeDatadog search, as the v2 Logs and Spans APIs answer', () => {
  it('filters logs by query and time, newest first with -timestamp', async () => {
    const { status, json } = await search('/api/v2/logs/events/search', {
      filter: { query: 'service:orders status:error env:prod', from: 'now-15m', to: 'now' },
      sort: '-timestamp',
      page: { limit: 10 },
    });
    expect(status).toBe(200);
    expect(json.data?.map((log) => log.attributes.message)).toEqual(['newer', 'older']);
  });

  it('wants spans wrapped as a search_request', async () => {
    const filter = { query: 'service:orders status:error', from: 'now-15m', to: 'now' };
    expect((await search('/api/v2/spans/events/search', { filter })).status).toBe(400);
    const { json } = await search('/api/v2/spans/events/search', {
      data: { type: 'search_request', attributes: { filter } },
    });
    expect(json.data?.[0]?.attributes.resource_name).toBe('GET /');
  });

  it('refuses a wrong application key (403) and a page beyond 5000 (400)', async () => {
    expect(await search('/api/v2/logs/events/search', {}, 'wrong')).toMatchObject({
      status: 403,
      json: { errors: ['Forbidden'] },
    });
    expect((await search('/api/v2/logs/events/search', { page: { limit: 5001 } })).status).toBe(400);
  });
});
