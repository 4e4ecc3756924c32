import type { AddressInfo } from 'node:net';
import { createLogger } from '../logger.ts';
import { scrubInitialEnvironment } from '../scrub-environ.ts';
import { loadProxyConfig } from './config.ts';
import { createProxyServer } from './server.ts';

/** Loopback only: anything else would hand the keys to the network. */
const HOST = '127.0.0.1';

function main(): void {
  let config: ReturnType<typeof loadProxyConfig>;
  try {
    config = loadProxyConfig(process.env);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const logger = createLogger({ level: config.logLevel, taskId: config.taskId, name: 'anton-credential-proxy' });
  // A process of the same user (the local dispatcher's runner) could read our environ otherwise.
  const scrubbed = scrubInitialEnvironment();
  const server = createProxyServer(config, logger);
  server.listen(config.port, HOST, () => {
    const { port } = server.address() as AddressInfo;
    logger.info(
      {
        host: HOST,
        port,
        repository: `${config.repository.owner}/${config.repository.repo}`,
        environ_scrubbed: scrubbed,
      },
      'credential proxy listening',
    );
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'credential proxy stopping');
      server.close(() => process.exit(0));
      server.closeAllConnections();
    });
  }
}

main();
