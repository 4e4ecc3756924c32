import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import type { IngesterConfig } from './config.ts';
import { DeliveryWindow } from './delivery-window.ts';
import { lingerBeforeClosing } from './lingering-close.ts';
import type { IngesterMetrics } from './metrics.ts';
import { problemBody } from './problem.ts';
import type { TaskPublisher } from './publisher.ts';
import { keepRawBodies } from './request-body.ts';
import { healthRoutes } from './routes/health.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { createSourceRegistry } from './sources/registry.ts';

export interface AppOptions {
  config: Pick<IngesterConfig, 'secrets' | 'jira' | 'maxBodyBytes' | 'sharedSecretSources'>;
  publisher: TaskPublisher;
  /** The counters the webhook routes keep; served by the metrics server (metrics-server.ts). */
  metrics: IngesterMetrics;
  /** Defaults to a window of 10,000 deliveries over one hour. */
  deliveries?: DeliveryWindow;
}

/** The ingester's Fastify server, unstarted; `main.ts` and the tests register `ingesterApp` on it. */
export function createServer(logger: FastifyBaseLogger): FastifyInstance {
  return Fastify({
    loggerInstance: logger,
    // A sender that trickles its body ties up a socket; every sender times out well before this.
    requestTimeout: 30_000,
    return503OnClosing: true,
    // Fastify's two lines per request ("incoming request", "request completed") are off: each
    // webhook gets one line from its route, and probes and scrapes get none.
    logController: new LogController({ disableRequestLogging: true }),
  });
}

/** The ingester as a Fastify plugin: body parsing, one error handler, health and webhook routes. */
export default async function ingesterApp(fastify: FastifyInstance, options: AppOptions): Promise<void> {
  const { config, publisher, metrics } = options;
  keepRawBodies(fastify);
  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // These come from reading a webhook's body (413, 415...): the route's log line says why.
      request.log = request.log.child({ code: error.code, reason: error.message });
      if (!request.raw.complete) lingerBeforeClosing(request.raw);
      return reply.code(status).send(problemBody(status, error.message));
    }
    // A bug, not the sender's fault. The contract allows no 5xx but 503, which also makes Jira and
    // Datadog retry; the log line is the alarm.
    request.log.error({ err: error }, 'unexpected error; answered 503');
    return reply.code(503).send(problemBody(503, 'temporarily unavailable; retry later'));
  });
  healthRoutes(fastify, { publisher });
  webhookRoutes(fastify, {
    sources: createSourceRegistry({ jira: config.jira, sharedSecretSources: config.sharedSecretSources }),
    secrets: config.secrets,
    publisher,
    deliveries: options.deliveries ?? new DeliveryWindow(),
    metrics,
    maxBodyBytes: config.maxBodyBytes,
  });
}
