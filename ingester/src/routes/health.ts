import type { FastifyInstance } from 'fastify';
import type { TaskPublisher } from '../publisher.ts';

/** Liveness, readiness (can a task be published right now?), the original's `/health`. Metrics: metrics-server.ts. */
export function healthRoutes(fastify: FastifyInstance, deps: { publisher: TaskPublisher }) {
  const { publisher } = deps;
  // Probes come every few seconds: their request lines would drown the webhooks'.
  const quiet = { logLevel: 'warn' } as const;
  fastify.get('/healthz', quiet, async () => ({ status: 'ok' }));
  fastify.get('/readyz', quiet, async (_request, reply) =>
    publisher.ready
      ? { status: 'ready', rabbitmq: 'ok' }
      : reply.code(503).send({ status: 'not_ready', rabbitmq: 'unavailable' }),
  );
  // The original's shape, always 200: it reports, the orchestration layer decides (use /readyz for that).
  fastify.get('/health', async () =>
    publisher.ready ? { status: 'ok', rabbitmq: 'ok' } : { status: 'degraded', rabbitmq: 'unavailable' },
  );
}
