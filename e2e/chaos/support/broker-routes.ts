import { RABBITMQ_BASE_URL, startTcpProxy, type TcpProxy } from '@anton/testing';
import type { Pipeline } from '../../src/harness/pipeline.ts';

export interface BrokerRoutes {
  ingester: TcpProxy;
  orchestrator: TcpProxy;
  /** Both proxies, for faults that hit the whole broker. */
  both: TcpProxy[];
  close(): Promise<void>;
}

/**
 * Puts a TCP proxy between each service and RabbitMQ: the services are restarted with their
 * RABBITMQ_URL pointing at their proxy, so a test can cut, slow down or reset each one's traffic
 * without touching the broker every other test shares.
 */
export async function routeBrokerThroughProxies(pipeline: Pipeline): Promise<BrokerRoutes> {
  const broker = new URL(RABBITMQ_BASE_URL);
  const target = { host: broker.hostname, port: Number(broker.port || 5672) };
  const [ingester, orchestrator] = await Promise.all([startTcpProxy(target), startTcpProxy(target)]);
  const via = (proxy: TcpProxy) => {
    const url = new URL(pipeline.vhost.url);
    url.port = String(proxy.port);
    return url.toString();
  };
  await Promise.all([pipeline.ingester.stop(), pipeline.orchestrator.stop()]);
  pipeline.options.ingesterEnv = { ...pipeline.options.ingesterEnv, RABBITMQ_URL: via(ingester) };
  pipeline.options.orchestratorEnv = { ...pipeline.options.orchestratorEnv, RABBITMQ_URL: via(orchestrator) };
  await Promise.all([pipeline.startIngester(), pipeline.startOrchestrator()]);
  return {
    ingester,
    orchestrator,
    both: [ingester, orchestrator],
    close: async () => {
      await Promise.all([ingester.close(), orchestrator.close()]);
    },
  };
}

/** The HTTP status of each service's readiness probe; 0 when it does not answer. */
export async function readiness(pipeline: Pipeline): Promise<{ ingester: number; orchestrator: number }> {
  const status = (url: string) =>
    fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.status,
      () => 0,
    );
  const [ingester, orchestrator] = await Promise.all([
    status(`${pipeline.ingesterUrl}/readyz`),
    status(`${pipeline.healthUrl}/readyz`),
  ]);
  return { ingester, orchestrator };
}
