import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Each named check says whether that dependency is usable now. */
export type ReadinessChecks = Record<string, () => boolean>;

export interface HealthServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The small HTTP port for operators and probes: `/metrics` (Prometheus text), `/healthz` (the
 * process answers), `/readyz` (every dependency usable: 503 naming the ones that are not).
 */
export async function startHealthServer(options: {
  port: number;
  host: string;
  registry: Registry;
  checks: ReadinessChecks;
}): Promise<HealthServer> {
  const { registry, checks } = options;
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'method not allowed' });
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') {
      const results = Object.fromEntries(
        Object.entries(checks).map(([name, check]) => [name, check() ? 'ok' : 'down']),
      );
      const ready = Object.values(results).every((r) => r === 'ok');
      return json(ready ? 200 : 503, { status: ready ? 'ok' : 'degraded', ...results });
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        () => json(500, { error: 'metrics unavailable' }),
      );
      return;
    }
    json(404, { error: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
