import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { createServer } from './app.ts';
import type { IngesterMetrics } from './metrics.ts';

/**
 * `/metrics` on a port of its own (METRICS_PORT): the webhook Service exposes only the webhook
 * port, so what the counters tell (sources, outcomes, broker state) is not served to senders.
 */
export function createMetricsServer(logger: FastifyBaseLogger, metrics: IngesterMetrics): FastifyInstance {
  const server = createServer(logger);
  server.get('/metrics', { logLevel: 'warn' }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  return server;
}
