import { ConfigError } from '@anton/contracts';
import { AmqpPublisher } from './amqp-publisher.ts';
import ingesterApp, { createServer } from './app.ts';
import { type IngesterConfig, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { createMetricsServer } from './metrics-server.ts';

/** Past this, a shutdown that has not finished (a stuck publish, a hung socket) is cut short. */
const SHUTDOWN_GRACE_MS = 10_000;

function configOrExit(): IngesterConfig {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config.logLevel);
  if (config.devSecret) {
    logger.warn('ANTON_DEV=1 without WEBHOOK_SECRET: webhooks are checked against the well-known dev secret');
  }
  const publisher = await AmqpPublisher.start({
    url: config.rabbitmqUrl,
    confirmTimeoutMs: config.publishTimeoutMs,
    logger: logger.child({ component: 'publisher' }),
  });
  const metrics = createMetrics(() => publisher.ready);
  const app = createServer(logger);
  await app.register(ingesterApp, { config, publisher, metrics });
  await app.listen({ port: config.port, host: config.host });
  const metricsServer = createMetricsServer(logger.child({ component: 'metrics' }), metrics);
  await metricsServer.listen({
    port: config.metricsPort,
    host: config.host,
    // Not "Server listening at": that line names the webhook port, and scripts look for it.
    listenTextResolver: (address) => `metrics listening at ${address}`,
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    // Stop accepting and let in-flight requests (and so their publishes) finish, then disconnect.
    await app.close();
    await metricsServer.close();
    await publisher.close();
    logger.info('stopped');
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
