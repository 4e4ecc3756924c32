import { ConfigError } from '@anton/contracts';
import { loadConfig } from './config.ts';
import { UnsupportedKubernetesError } from './kubernetes/server-version.ts';
import { createLogger } from './logger.ts';
import { startOrchestrator } from './orchestrator.ts';
import { RoutingConfigError } from './routing-config.ts';

// Configuration is read once, here; a bad value ends the process with one line naming it.
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const logger = createLogger(config.logLevel);
process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));

let orchestrator: Awaited<ReturnType<typeof startOrchestrator>>;
try {
  orchestrator = await startOrchestrator(config, logger);
} catch (err) {
  if (err instanceof RoutingConfigError || err instanceof UnsupportedKubernetesError) console.error(err.message);
  logger.fatal({ err }, 'orchestrator failed to start');
  process.exit(1);
}

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new tasks, finishing the ones in flight');
    orchestrator.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  });
}
