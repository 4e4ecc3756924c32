import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** What a webhook request came to; the `outcome` label of `anton_ingester_webhooks_total`. */
export type Outcome =
  | 'published'
  | 'duplicate'
  | 'ignored'
  | 'unauthorized'
  | 'invalid'
  | 'too_large'
  | 'unsupported_media_type'
  | 'unavailable'
  | 'error';

export interface IngesterMetrics {
  registry: Registry;
  webhooks: Counter<'source' | 'outcome'>;
  publishSeconds: Histogram<'outcome'>;
}

/** An own registry per app, so tests (and several apps in one process) never share counters. */
export function createMetrics(brokerConnected: () => boolean): IngesterMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client's sums of nodejs_active_{handles,requests,resources} are gauges named *_total,
  // which Prometheus reserves for counters (promtool check metrics fails them); sum() the
  // per-type gauges instead.
  for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  new Gauge({
    name: 'anton_ingester_broker_connected',
    help: '1 while the RabbitMQ confirm channel is open, else 0',
    registers: [registry],
    collect() {
      this.set(brokerConnected() ? 1 : 0);
    },
  });
  return {
    registry,
    webhooks: new Counter({
      name: 'anton_ingester_webhooks_total',
      help: 'Webhook requests by source and outcome',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    publishSeconds: new Histogram({
      name: 'anton_ingester_publish_duration_seconds',
      help: 'Time from publish to the broker confirm (or failure)',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}
