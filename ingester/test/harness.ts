import { TASK_CREATED } from '@anton/contracts';
import { type Capture, captureMessages, createTestVhost, type TestVhost, waitFor } from '@anton/testing';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { AmqpPublisher } from '../src/amqp-publisher.ts';
import ingesterApp, { createServer } from '../src/app.ts';
import type { IngesterConfig } from '../src/config.ts';
import type { DeliveryWindow } from '../src/delivery-window.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { createMetricsServer } from '../src/metrics-server.ts';
import { createSourceRegistry } from '../src/sources/registry.ts';
import { fixture } from './fixture.ts';

export const SECRETS = { jira: 'jira-secret', datadog: 'datadog-secret', sonarcloud: 'sonar-secret' } as const;

/** The same signing code `send-webhook` uses, so tests and the CLI sign alike. */
export const SOURCES = createSourceRegistry({ jira: { triggerLabel: undefined, triggerStatuses: [] } });
export type Route = 'jira' | 'datadog' | 'sonar';
const SOURCE_BY_ROUTE = { jira: SOURCES.jira, datadog: SOURCES.datadog, sonar: SOURCES.sonarcloud };
const SECRET_BY_ROUTE = { jira: SECRETS.jira, datadog: SECRETS.datadog, sonar: SECRETS.sonarcloud };

export function signedHeaders(
  route: Route,
  body: Buffer,
  secret: string = SECRET_BY_ROUTE[route],
): Record<string, string> {
  return { 'content-type': 'application/json', ...SOURCE_BY_ROUTE[route].sign(body, secret) };
}

export interface Harness {
  app: FastifyInstance;
  /** The metrics port's server (metrics-server.ts) over the app's counters. */
  metricsApp: FastifyInstance;
  vhost: TestVhost;
  capture: Capture;
  publisher: AmqpPublisher;
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  rawLogs: string[];
  /** POSTs `body` to `/webhooks/<route>`, signed as the source would unless `headers` say otherwise. */
  post(route: Route, body: Buffer | string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  config?: Partial<Pick<IngesterConfig, 'jira' | 'maxBodyBytes' | 'sharedSecretSources'>>;
  deliveries?: DeliveryWindow;
  /** Where the publisher connects; the test vhost's URL unless given (e.g. through a proxy). */
  brokerUrl?: (vhost: TestVhost) => string;
  confirmTimeoutMs?: number;
}

/** The app on the real broker, in a fresh vhost, with a queue capturing what it publishes. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const vhost = await createTestVhost('ingester');
  const rawLogs: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void rawLogs.push(line) });
  const publisher = await AmqpPublisher.start({
    url: options.brokerUrl?.(vhost) ?? vhost.url,
    confirmTimeoutMs: options.confirmTimeoutMs ?? 5000,
    logger,
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
  });
  await waitFor(() => publisher.ready, { what: 'the publisher to connect' });
  const capture = await captureMessages(vhost.url, TASK_CREATED);
  const app = createServer(logger);
  const config = {
    secrets: { ...SECRETS },
    jira: { triggerLabel: undefined, triggerStatuses: [] },
    maxBodyBytes: 1024 * 1024,
    sharedSecretSources: [],
    ...options.config,
  };
  const metrics = createMetrics(() => publisher.ready);
  const metricsApp = createMetricsServer(logger, metrics);
  await app.register(ingesterApp, {
    config,
    publisher,
    metrics,
    ...(options.deliveries ? { deliveries: options.deliveries } : {}),
  });
  await app.ready();
  return {
    app,
    metricsApp,
    vhost,
    capture,
    publisher,
    rawLogs,
    get logs() {
      return rawLogs.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    post: (route, body, headers) => {
      const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
      return app.inject({
        method: 'POST',
        url: `/webhooks/${route}`,
        payload: bytes,
        headers: headers ?? signedHeaders(route, bytes),
      });
    },
    close: async () => {
      await app.close();
      await metricsApp.close();
      await publisher.close();
      await capture.close();
      await vhost.delete();
    },
  };
}

/**
 * Proves that the requests made since `mark` (a count of captured messages) published nothing: a
 * valid task sent now on the same channel arrives after anything they published, so it must be
 * the only message captured since.
 */
export async function expectNothingPublishedSince(harness: Harness, mark: number): Promise<void> {
  const reply = await harness.post('sonar', fixture('sonar-qualitygate-ERROR-1.json'));
  if (reply.statusCode !== 202) throw new Error(`the sentinel task was not accepted: ${reply.body}`);
  const { task_id } = reply.json() as { task_id: string };
  await waitFor(() => harness.capture.messages.length > mark, { what: 'the sentinel task' });
  const ids = harness.capture.messages.slice(mark).map((message) => message.properties.messageId);
  if (ids.length !== 1 || ids[0] !== task_id) {
    throw new Error(`expected only the sentinel task ${task_id} to be published, got ${ids.join(', ')}`);
  }
}
