import { ORCHESTRATOR_QUEUE } from '@anton/contracts';
import { createTestVhost, freePort } from '@anton/testing';
import { rawPublisher, takeOne } from '../support/broker.ts';
import type { BenchContext } from '../support/context.ts';
import { closedLoop, httpLoad, type LoadResult, pacedLoad } from '../support/load.ts';
import { type FigureResult, type Row, ratioOf } from '../support/report.ts';
import { answers200, baseEnv, ENTRY_POINTS, type ServiceProcess, startService } from '../support/service-process.ts';
import { jiraIssueCreated, signedJira, WEBHOOK_SECRET } from '../support/webhooks.ts';

const BARE_FASTIFY = new URL('../baselines/bare-fastify.ts', import.meta.url).pathname;
const QUEUE_DRAIN = new URL('../processes/queue-drain.ts', import.meta.url).pathname;
const CONCURRENCY = [1, 10, 50, 100];
const SECONDS_PER_RUN = 4;
const FIXED_RATE = 500;
const FIXED_RATE_SECONDS = 8;

interface Level {
  concurrency: number;
  ingester: LoadResult;
  bareFastify: LoadResult;
  rawPublisher: LoadResult;
}

/** The slower of the two baselines: fewer answers per second, or the higher latency. */
function slower(level: Omit<Level, 'concurrency' | 'ingester'>, by: 'perSecond' | 'p50' | 'p99') {
  const value = (r: LoadResult) => (by === 'perSecond' ? r.perSecond : r.latency[by]);
  const fastify = value(level.bareFastify);
  const raw = value(level.rawPublisher);
  const fastifySlower = by === 'perSecond' ? fastify <= raw : fastify >= raw;
  return fastifySlower ? { value: fastify, name: 'bare Fastify' } : { value: raw, name: 'raw publisher' };
}

function rowsOf(label: string, ingester: LoadResult, baselines: Omit<Level, 'concurrency' | 'ingester'>): Row[] {
  const throughput = slower(baselines, 'perSecond');
  const p50 = slower(baselines, 'p50');
  const p99 = slower(baselines, 'p99');
  const ratio = ratioOf(ingester.perSecond, throughput.value);
  return [
    {
      figure: `1 ingester ${label}: answers/s`,
      unit: '/s',
      anton: ingester.perSecond,
      baseline: throughput.value,
      baselineName: throughput.name,
      ratio,
      target: '≥ 0.60×',
      met: ratio !== undefined && ratio >= 0.6,
    },
    {
      figure: `1 ingester ${label}: p50`,
      unit: 'ms',
      anton: ingester.latency.p50,
      baseline: p50.value,
      baselineName: p50.name,
      ratio: ratioOf(ingester.latency.p50, p50.value),
    },
    {
      figure: `1 ingester ${label}: p99`,
      unit: 'ms',
      anton: ingester.latency.p99,
      baseline: p99.value,
      baselineName: p99.name,
      ratio: ratioOf(ingester.latency.p99, p99.value),
    },
  ];
}

/**
 * Figure 1: signed JIRA webhooks at the ingester (its own process, real broker, a consumer
 * draining the queue) with autocannon at rising concurrency and at a fixed 500/s, beside a bare
 * Fastify process answering 202 to the same bodies and a raw confirm-channel publisher of the
 * task the ingester publishes for that body.
 */
export async function ingesterThroughput(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  const vhost = await createTestVhost('bench-ingest');
  const services: ServiceProcess[] = [];
  const publisher = await rawPublisher(vhost.url);
  try {
    const ingesterPort = await freePort();
    const ingester = await startService({
      name: 'ingester-throughput',
      entry: ENTRY_POINTS.ingester,
      env: {
        ...baseEnv(),
        WEBHOOK_SECRET,
        RABBITMQ_URL: vhost.url,
        PORT: String(ingesterPort),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      logDir: ctx.logDir,
      ready: answers200(`http://127.0.0.1:${ingesterPort}/readyz`),
    });
    services.push(ingester);
    const barePort = await freePort();
    const bare = await startService({
      name: 'bare-fastify',
      entry: BARE_FASTIFY,
      env: { ...baseEnv(), PORT: String(barePort) },
      logDir: ctx.logDir,
      ready: answers200(`http://127.0.0.1:${barePort}/healthz`),
    });
    services.push(bare);
    const idleMemory = await ingester.memory();
    const ingesterUrl = `http://127.0.0.1:${ingesterPort}/webhooks/jira`;
    const bareUrl = `http://127.0.0.1:${barePort}/webhooks/jira`;
    const webhook = signedJira(jiraIssueCreated(41));
    // The raw publisher sends exactly what the ingester publishes for this body.
    const first = await fetch(ingesterUrl, { method: 'POST', headers: webhook.headers, body: webhook.body });
    if (first.status !== 202) throw new Error(`the ingester answered ${first.status}: ${await first.text()}`);
    const task = await takeOne(vhost.url, ORCHESTRATOR_QUEUE);
    if (!task) throw new Error('the accepted webhook left no task in the queue');
    const drainPort = await freePort();
    const drain = await startService({
      name: 'queue-drain',
      entry: QUEUE_DRAIN,
      env: { ...baseEnv(), RABBITMQ_URL: vhost.url, PORT: String(drainPort) },
      logDir: ctx.logDir,
      ready: answers200(`http://127.0.0.1:${drainPort}/`),
    });
    services.push(drain);

    // Evenly spaced requests: autocannon's overallRate sends each connection's quota for the second
    // in one burst at the top of the second, which measures a burst, not a rate.
    const post = (url: string) => async () => {
      const response = await fetch(url, { method: 'POST', headers: webhook.headers, body: webhook.body });
      await response.arrayBuffer();
      if (response.status >= 300) throw new Error(`answered ${response.status}`);
    };
    const fixedRate = async (seconds: number) => ({
      ingester: await pacedLoad(FIXED_RATE, seconds, post(ingesterUrl)),
      bareFastify: await pacedLoad(FIXED_RATE, seconds, post(bareUrl)),
      rawPublisher: await pacedLoad(FIXED_RATE, seconds, () => publisher.publish(task)),
    });

    // The fixed rate first, so the memory it needs is measured before saturation raises the peak.
    ctx.progress(`figure 1: warming up, then a fixed ${FIXED_RATE}/s`);
    const warm = await fixedRate(3);
    if (warm.ingester.ok === 0) throw new Error('the ingester accepted none of the warm-up webhooks');
    const atRate = await fixedRate(FIXED_RATE_SECONDS);
    const memoryAtRate = await ingester.memory();
    const bareMemoryAtRate = await bare.memory();

    const levels: Level[] = [];
    for (const concurrency of CONCURRENCY) {
      ctx.progress(`figure 1: concurrency ${concurrency}`);
      const load = { webhook, connections: concurrency, seconds: SECONDS_PER_RUN };
      levels.push({
        concurrency,
        ingester: await httpLoad({ url: ingesterUrl, ...load }),
        bareFastify: await httpLoad({ url: bareUrl, ...load }),
        rawPublisher: await closedLoop(concurrency, SECONDS_PER_RUN, () => publisher.publish(task)),
      });
    }
    const memory = await ingester.memory();
    const bareMemory = await bare.memory();

    const rows: Row[] = levels.flatMap((level) => rowsOf(`${level.concurrency} conn`, level.ingester, level));
    const rated = rowsOf(`${FIXED_RATE}/s`, atRate.ingester, atRate);
    const p99 = rated[2] as Row;
    rows.push(rated[1] as Row, { ...p99, target: '< 25 ms', met: atRate.ingester.latency.p99 < 25 });
    const memoryRow = (label: string, anton: number, baseline: number): Row => ({
      figure: `1 ingester RSS at peak (VmHWM), ${label}`,
      unit: 'MB',
      anton,
      baseline,
      baselineName: 'bare Fastify',
      ratio: ratioOf(anton, baseline),
      target: '< 150 MB',
      met: anton < 150,
    });
    rows.push(
      memoryRow(`up to ${FIXED_RATE}/s`, memoryAtRate.peakMb, bareMemoryAtRate.peakMb),
      memoryRow('saturated', memory.peakMb, bareMemory.peakMb),
    );
    const failed = [...levels.map((l) => l.ingester), atRate.ingester].reduce((sum, r) => sum + r.failed, 0);
    return {
      id: 'ingester',
      title: 'Ingester throughput and latency',
      rows,
      details: {
        secondsPerRun: SECONDS_PER_RUN,
        levels,
        fixedRate: { rate: FIXED_RATE, seconds: FIXED_RATE_SECONDS, ...atRate },
        ingesterMemoryMb: { idle: idleMemory, atRate: memoryAtRate, end: memory },
        bareFastifyMemoryMb: { atRate: bareMemoryAtRate, end: bareMemory },
        ingesterFailedAnswers: failed,
        tasksDrained: Number(await (await fetch(`http://127.0.0.1:${drainPort}/`)).text()),
        webhookBytes: webhook.body.length,
        taskBytes: task.length,
      },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const service of services) await service.stop();
    await publisher.close();
    await vhost.delete();
  }
}
