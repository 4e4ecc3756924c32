import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** Why a message went to the dead-letter queue, as a bounded label value. */
export type DeadLetterKind =
  | 'invalid_message'
  | 'no_repository'
  | 'repository_not_allowed'
  | 'not_dispatchable'
  | 'retries_exhausted';
export type FallbackReason = 'not_configured' | 'unavailable' | 'invalid_answer';

/**
 * The orchestrator's metrics, in a registry of its own (so tests and two instances in one process
 * never share counters). Label values are bounded: sources, templates and reasons, never ids.
 */
export function createMetrics({ defaults = false } = {}) {
  const registry = new Registry();
  if (defaults) {
    collectDefaultMetrics({ register: registry });
    // prom-client's sums of nodejs_active_{handles,requests,resources} are gauges named *_total,
    // which Prometheus reserves for counters (promtool check metrics fails them); sum() the
    // per-type gauges instead.
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  }
  const registers = [registry];
  return {
    registry,
    consumed: new Counter({
      name: 'anton_orchestrator_tasks_consumed_total',
      help: 'Messages taken from orchestrator_queue, by source ("unknown" when unreadable)',
      labelNames: ['source'] as const,
      registers,
    }),
    dispatched: new Counter({
      name: 'anton_orchestrator_tasks_dispatched_total',
      help: 'Tasks that got their runner Job',
      labelNames: ['source', 'template', 'routed_by'] as const,
      registers,
    }),
    deduplicated: new Counter({
      name: 'anton_orchestrator_tasks_deduplicated_total',
      help: 'Tasks skipped because their incident already has a running or recently succeeded Job',
      labelNames: ['source'] as const,
      registers,
    }),
    deadLettered: new Counter({
      name: 'anton_orchestrator_tasks_dead_lettered_total',
      help: 'Messages sent to task.dlq, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    retried: new Counter({
      name: 'anton_orchestrator_tasks_retried_total',
      help: 'Messages republished for another attempt after a failure',
      registers,
    }),
    routingSeconds: new Histogram({
      name: 'anton_orchestrator_routing_duration_seconds',
      help: 'Time to a routing plan, by who made it (llm or rules)',
      labelNames: ['routed_by'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    routingFallbacks: new Counter({
      name: 'anton_orchestrator_routing_fallbacks_total',
      help: 'Tasks routed by rules instead of Claude, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    activeJobs: new Gauge({
      name: 'anton_orchestrator_active_jobs',
      help: 'Runner Jobs that have not finished (the MAX_ACTIVE_JOBS cap applies to this)',
      registers,
    }),
    capacityWaits: new Counter({
      name: 'anton_orchestrator_capacity_waits_total',
      help: 'Tasks that had to wait for a free runner slot',
      registers,
    }),
    outcomes: new Counter({
      name: 'anton_task_outcomes_total',
      help: 'Tasks whose runner ended, by source, template and outcome status',
      labelNames: ['source', 'template', 'status'] as const,
      registers,
    }),
    llmTokens: new Counter({
      name: 'anton_llm_tokens_total',
      help: 'Tokens the runners billed, by source, template, model role (coder, reviewer) and kind',
      labelNames: ['source', 'template', 'model_role', 'kind'] as const,
      registers,
    }),
    llmCost: new Counter({
      name: 'anton_llm_cost_usd_total',
      help: "USD the runners' model calls cost by the price table (coder and reviewer), by source and template",
      labelNames: ['source', 'template'] as const,
      registers,
    }),
    enrichment: new Counter({
      name: 'anton_orchestrator_enrichment_total',
      help: "Tasks given to a source's API for enrichment, by source and result (enriched, empty, error, timeout, skipped)",
      labelNames: ['source', 'result'] as const,
      registers,
    }),
    reports: new Counter({
      name: 'anton_reports_total',
      help: 'Outcome reports (JIRA comments, Datadog events) by reporter and result: sent, retried, failed',
      labelNames: ['reporter', 'outcome'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
