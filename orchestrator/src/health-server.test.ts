import { afterEach, describe, expect, it } from 'vitest';
import { type HealthServer, startHealthServer } from './health-server.ts';
import { createMetrics } from './metrics.ts';

let server: HealthServer | undefined;
afterEach(() => server?.close());

describe('health server', () => {
  it('serves /healthz, /readyz by its checks, and /metrics', async () => {
    const metrics = createMetrics();
    metrics.dispatched.inc({ source: 'jira', template: 'java-backend', routed_by: 'llm' });
    let brokerUp = false;
    server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry: metrics.registry,
      checks: { rabbitmq: () => brokerUp, kubernetes: () => true },
    });

    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const notReady = await fetch(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'degraded', rabbitmq: 'down', kubernetes: 'ok' });
    brokerUp = true;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain(
      'anton_orchestrator_tasks_dispatched_total{source="jira",template="java-backend",routed_by="llm"} 1',
    );
    expect(text).toContain('anton_orchestrator_active_jobs 0');
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });
});
