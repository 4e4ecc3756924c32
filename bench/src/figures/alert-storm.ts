import { randomBytes } from 'node:crypto';
import type { BenchContext } from '../support/context.ts';
import { paced } from '../support/load.ts';
import { NAMESPACE, SAMPLE_REPOSITORY, startPipeline } from '../support/pipeline.ts';
import { metricSum, scrape } from '../support/prometheus.ts';
import { type FigureResult, ratioOf } from '../support/report.ts';
import { summarize } from '../support/stats.ts';
import { type DatadogTransition, datadogAlert, deliver, signedDatadog } from '../support/webhooks.ts';

const MONITORS = 10;
const WEBHOOKS = 1_000;
const SECONDS = 10;
/** Of each monitor's 100 notifications: the first triggers, the last ones are its recovery (and redeliveries of it). */
const RECOVERIES_PER_MONITOR = 10;

/** A small deterministic generator, so every run sends the same storm. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Each monitor's notifications in order (Triggered, Re-Triggered…, Recovered…), the monitors
 * interleaved at random: one alert cycle per monitor, so exactly one incident each.
 */
function storm(runId: string): Array<{ monitor: number; transition: DatadogTransition; body: Buffer }> {
  const perMonitor = WEBHOOKS / MONITORS;
  const queues = Array.from({ length: MONITORS }, (_, monitor) =>
    Array.from({ length: perMonitor }, (_, i): DatadogTransition => {
      if (i === 0) return 'Triggered';
      return i >= perMonitor - RECOVERIES_PER_MONITOR ? 'Recovered' : 'Re-Triggered';
    }).map((transition) => ({ monitor, transition })),
  );
  const random = prng(9);
  const order: Array<{ monitor: number; transition: DatadogTransition; body: Buffer }> = [];
  let event = 0;
  while (order.length < WEBHOOKS) {
    const open = queues.filter((q) => q.length > 0);
    const next = (open[Math.floor(random() * open.length)] as (typeof open)[number]).shift();
    if (!next) continue;
    event += 1;
    const body = datadogAlert({
      ...next,
      cycle: `${runId}-monitor-${next.monitor}`,
      eventId: `${runId}-event-${event}`,
      repository: SAMPLE_REPOSITORY,
    });
    order.push({ ...next, body });
  }
  return order;
}

/**
 * Figure 3: 1,000 Datadog notifications about 10 monitors in 10 s through the ingester and the
 * orchestrator (their own processes) to FakeKubernetes. anton should start exactly one Job per
 * incident, ask Claude at most once per incident, and account for every accepted webhook as a
 * Job or a deduplicated task. Baseline: the original, which started a Job (and asked Claude) for
 * every webhook it received; here counted as the webhooks that pass the ingester's filters.
 */
export async function alertStorm(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  const pipeline = await startPipeline(ctx, 'bench-storm');
  try {
    // Jobs stay running (as real runners would through a 10 s storm); the cap must not be the limit.
    const orchestrator = await pipeline.startOrchestrator('storm-orchestrator', { MAX_ACTIVE_JOBS: '50' });
    const webhooks = storm(randomBytes(4).toString('hex'));
    ctx.progress(`figure 3: ${WEBHOOKS} webhooks about ${MONITORS} monitors in ${SECONDS} s`);
    const deliveries = await paced(WEBHOOKS / SECONDS, WEBHOOKS, (i) =>
      deliver(`${pipeline.webhooksUrl}datadog`, signedDatadog((webhooks[i] as (typeof webhooks)[number]).body)),
    );
    const accepted = deliveries.filter((d) => d.status === 202).length;
    const ignored = deliveries.filter((d) => d.status === 200).length;
    const refused = deliveries.length - accepted - ignored;

    const count = async () => {
      const text = await scrape(orchestrator.metricsUrl);
      return {
        consumed: metricSum(text, 'anton_orchestrator_tasks_consumed_total'),
        dispatched: metricSum(text, 'anton_orchestrator_tasks_dispatched_total'),
        deduplicated: metricSum(text, 'anton_orchestrator_tasks_deduplicated_total'),
        deadLettered: metricSum(text, 'anton_orchestrator_tasks_dead_lettered_total'),
        retried: metricSum(text, 'anton_orchestrator_tasks_retried_total'),
      };
    };
    const drainStarted = performance.now();
    let counters = await count();
    while (counters.dispatched + counters.deduplicated + counters.deadLettered < accepted) {
      if (performance.now() - drainStarted > 120_000) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
      counters = await count();
    }
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const jobs = pipeline.kubernetes.jobs(NAMESPACE).length;
    const routingCalls = pipeline.anthropic.received('/v1/messages', 'POST').length;
    const lost = accepted - counters.dispatched - counters.deduplicated;
    const latency = summarize(deliveries.map((d) => d.ms));
    const memory = await orchestrator.process.memory();
    const original = accepted;
    return {
      id: 'storm',
      title: 'Alert storm',
      rows: [
        {
          figure: `3 storm: Jobs for ${MONITORS} incidents`,
          unit: '',
          anton: jobs,
          baseline: original,
          baselineName: 'original: one per webhook',
          ratio: ratioOf(jobs, original),
          target: `exactly ${MONITORS}`,
          met: jobs === MONITORS,
        },
        {
          figure: '3 storm: routing calls to Claude',
          unit: '',
          anton: routingCalls,
          baseline: original,
          baselineName: 'original: one per webhook',
          ratio: ratioOf(routingCalls, original),
          target: `≤ ${MONITORS}`,
          met: routingCalls <= MONITORS,
        },
        {
          figure: `3 storm: accepted (202) not accounted for`,
          unit: '',
          anton: lost,
          target: '0',
          met: lost === 0 && counters.deadLettered === 0,
        },
        {
          figure: `3 storm: ingester p99 at ${WEBHOOKS / SECONDS}/s`,
          unit: 'ms',
          anton: latency.p99,
          target: '< 50 ms',
          met: latency.p99 < 50,
        },
      ],
      details: {
        webhooks: WEBHOOKS,
        monitors: MONITORS,
        seconds: SECONDS,
        answers: { accepted, ignored, refused },
        orchestrator: counters,
        drainSeconds,
        jobs,
        routingCalls,
        ingesterLatencyMs: latency,
        orchestratorMemoryMb: memory,
      },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await pipeline.close();
  }
}
