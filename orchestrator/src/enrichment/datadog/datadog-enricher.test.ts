import { FakeDatadog } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTask } from '../../../test/tasks.ts';
import { datadogEnricher } from './datadog-enricher.ts';

let datadog: FakeDatadog;
const alertAt = Date.parse('2026-03-02T14:00:00Z');
const minutes = (n: number) => new Date(alertAt + n * 60_000);
const NPE_STACK = [
  'java.lang.NullPointerException: Cannot invoke "java.math.BigDecimal.multiply" because "discount" is null',
  '\tat acme.OrderService.total(OrderService.java:42)',
  '\tat acme.CheckoutController.checkout(CheckoutController.java:88)',
].join('\n');
const TIMEOUT_STACK =
  'java.net.SocketTimeoutException: Read timed out\n\tat acme.PaymentClient.charge(PaymentClient.java:17)';

function alertTask(tags: Record<string, string> = {}) {
  return makeTask({
    source: 'datadog',
    external_id: '8306082202796025694',
    labels: { service: 'orders', env: 'prod', ...tags },
    raw_payload: { id: '8306082202796025694', alert_scope: 'env:prod,service:orders', date: String(alertAt) },
  });
}

beforeAll(async () => {
  datadog = await FakeDatadog.start();
  const error = (stack: string, kind: string, message: string, at: Date, tags: string[] = []) => ({
    timestamp: at,
    service: 'orders',
    status: 'error' as const,
    message,
    host: 'orders-7f9c',
    tags: ['env:prod', 'version:2.4.1', 'git.commit.sha:9f8e7d6c5b4a39281706f5e4d3c2b1a098765432', ...tags],
    attributes: { error: { stack, kind, message } },
  });
  for (let i = 0; i < 5; i++) {
    datadog.addLog(error(NPE_STACK, 'java.lang.NullPointerException', `order ${i}: discount is null`, minutes(-i)));
  }
  datadog.addLog(error(TIMEOUT_STACK, 'java.net.SocketTimeoutException', 'Read timed out', minutes(-2)));
  // Outside the window, another service, another env, and an info line: none of them is evidence.
  datadog.addLog(error('java.lang.IllegalStateException: old', 'IllegalStateException', 'old', minutes(-120)));
  datadog.addLog({ ...error(TIMEOUT_STACK, 'X', 'other service', minutes(-1)), service: 'billing' });
  datadog.addLog({ ...error(TIMEOUT_STACK, 'X', 'staging', minutes(-1)), tags: ['env:staging'] });
  datadog.addLog({
    timestamp: minutes(-1),
    service: 'orders',
    status: 'info',
    message: 'order placed',
    tags: ['env:prod'],
  });
  datadog.addSpan({
    timestamp: minutes(-1),
    service: 'orders',
    resource: 'POST /checkout',
    error: true,
    traceId: '7243915463452184934',
    tags: ['env:prod'],
    custom: { error: { type: 'java.lang.NullPointerException', message: 'discount is null', stack: NPE_STACK } },
  });
});
afterAll(() => datadog.close());

const enricher = (appKey = datadog.appKey) => datadogEnricher({ apiUrl: datadog.url, apiKey: datadog.apiKey, appKey });
const signal = () => AbortSignal.timeout(5000);

describe('datadog enrichment', () => {
  it("brings the service's error stacks around the alert, identical ones counted once, most frequent first", async () => {
    const found = await enricher().enrich(alertTask(), signal());
    const text = found?.text ?? '';
    expect(text).toContain(
      'Service orders (env:prod), errors from 2026-03-02T13:45:00.000Z to 2026-03-02T14:05:00.000Z.',
    );
    expect(text).toContain('Error logs: 6 in the window, 2 distinct; the 2 most frequent:');
    expect(text.indexOf('### 5× java.lang.NullPointerException')).toBeLessThan(
      text.indexOf('### 1× java.net.SocketTimeoutException'),
    );
    expect(text).toContain('\tat acme.OrderService.total(OrderService.java:42)');
    expect(text).toContain('APM error spans: 1 in the window, 1 distinct');
    expect(text).toContain('resource POST /checkout, trace 7243915463452184934');
    expect(text).not.toContain('IllegalStateException');
    expect(text).not.toContain('order placed');
    const search = datadog.received('/api/v2/logs/events/search').at(-1);
    expect(search?.json).toMatchObject({
      filter: { query: 'service:orders status:error env:prod', from: '2026-03-02T13:45:00.000Z' },
      sort: '-timestamp',
    });
    expect(search?.headers['dd-application-key']).toBe(datadog.appKey);
  });

  it('reads the deployed version and commit from the events when the alert has no such tags', async () => {
    const found = await enricher().enrich(alertTask(), signal());
    expect(found?.deployedCommit).toBe('9f8e7d6c5b4a39281706f5e4d3c2b1a098765432');
    expect(found?.text).toContain('Deployed: version 2.4.1, commit 9f8e7d6c5b4a39281706f5e4d3c2b1a098765432.');
  });

  it('finds the service in the scope of a monitor grouped by service', async () => {
    const task = { ...alertTask(), labels: { env: 'prod' } };
    const found = await enricher().enrich(task, signal());
    expect(found?.text).toContain('Service orders (env:prod)');
  });

  it("prefers the alert's own git.commit.sha tag", async () => {
    const found = await enricher().enrich(alertTask({ 'git.commit.sha': 'abcdef1234567' }), signal());
    expect(found?.deployedCommit).toBe('abcdef1234567');
  });

  it('fails with a wrong application key (403), adds nothing for an alert without a service', async () => {
    await expect(enricher('wrong').enrich(alertTask(), signal())).rejects.toThrow(/datadog logs search: HTTP 403/);
    const noService = makeTask({ source: 'datadog', labels: {}, raw_payload: { id: '1' } });
    expect(await enricher().enrich(noService, signal())).toBeUndefined();
  });
});
