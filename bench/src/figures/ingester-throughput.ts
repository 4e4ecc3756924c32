import { join } from 'node:path';
import { ORCHESTRATOR_QUEUE } from '@anton/contracts';
import { createTestVhost, freePort } from '@anton/testing';
import { rawPublisher, takeOne } from '../support/broker.ts';
import type { BenchContext } from '../support/context.ts';
import { closedLoop, httpLoad, type LoadResult, pacedLoad } from '../support/load.ts';
import { podLimits } from '../support/pod-limits.ts';
import { type FigureResult, type Row, ratioOf } from '../support/report.ts';
import { runToEnd } from '../support/run-process.ts';
import {
  answers200,
  baseEnv,
  ENTRY_POINTS,
  REPO_ROOT,
  type ServiceProcess,
  startService,
} from '../support/service-process.ts';
import { jiraIssueCreated, signedJira, WEBHOOK_SECRET } from '../support/webhooks.ts';

/** The ingester's dist/ build, by the image's own commands (ingester/Dockerfile); its entry point. */
async function buildIngester(logDir: string): Promise<string> {
  for (const pkg of ['contracts', 'ingester']) {
    const run = await runToEnd({
      args: [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      env: baseEnv(),
      cwd: join(REPO_ROOT, pkg),
      logPath: join(logDir, `build-${pkg}.log`),
    });
    if (run.exitCode !== 0) throw new Error(`building ${pkg} failed: ${run.output}`);
  }
  return join(REPO_ROOT, 'ingester/dist/main.js');
}

const BARE_FASTIFY = new URL('../baselines/bare-fastify.ts', import.meta.url).pathname;
const QUEUE_DRAIN = new URL('../processes/queue-drain.ts', import.meta.url).pathname;
const CONCURRENCY = [1, 10, 50, 100];
const SECONDS_PER_RUN = 4;
const FIXED_RATE = 500;
const FIXED_RATE_SECONDS = 8;

interface Level {
  concurrency: number;
  ingester: LoadResult;
  /** The same ingester under its pod's Node settings, right after the host run. */
  ingesterInPod: LoadResult;
  /** CPU ms per answer of each process: on a loaded machine steadier than answers/s. */
  cpuMsPerAnswer: { ingester: number; ingesterInPod: number; bareFastify: number };
  bareFastify: LoadResult;
  rawPublisher: LoadResult;
}

/** The slower of the two baselines: fewer answers per second, or the higher latency. */
type Baselines = Pick<Level, 'bareFastify' | 'rawPublisher'>;

function slower(level: Baselines, by: 'perSecond' | 'p50' | 'p99') {
  const value = (r: LoadResult) => (by === 'perSecond' ? r.perSecond : r.latency[by]);
  const fastify = value(level.bareFastify);
  const raw = value(level.rawPublisher);
  const fastifySlower = by === 'perSecond' ? fastify <= raw : fastify >= raw;
  return fastifySlower ? { value: fastify, name: 'bare Fastify' } : { value: raw, name: 'raw publisher' };
}

function rowsOf(label: string, ingester: LoadResult, baselines: Baselines): Row[] {
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
        METRICS_PORT: '0', // two ingesters run here: neither takes the default 9090
        LOG_LEVEL: 'info',
      },
      logDir: ctx.logDir,
      ready: answers200(`http://127.0.0.1:${ingesterPort}/readyz`),
    });
    services.push(ingester);
    // The same service as its pod runs it: the image's build (dist/, no TypeScript stripping, which
    // alone is ~35 MB of RSS) under the Deployment's NODE_OPTIONS, its RSS against the memory limit
    // (this machine's cgroup v2 has no memory controller to enforce the limit with).
    const pod = await podLimits('ingester.yaml', 'anton-ingester', 'ingester');
    ctx.progress('figure 1: building the ingester as its image does');
    const compiledEntry = await buildIngester(ctx.logDir);
    const podPort = await freePort();
    const ingesterInPod = await startService({
      name: 'ingester-in-pod',
      entry: compiledEntry,
      compiled: true,
      env: {
        ...baseEnv(),
        ...(pod.nodeOptions && { NODE_OPTIONS: pod.nodeOptions }),
        WEBHOOK_SECRET,
        RABBITMQ_URL: vhost.url,
        PORT: String(podPort),
        HOST: '127.0.0.1',
        METRICS_PORT: '0', // two ingesters run here: neither takes the default 9090
        LOG_LEVEL: 'info',
      },
      logDir: ctx.logDir,
      ready: answers200(`http://127.0.0.1:${podPort}/readyz`),
    });
    services.push(ingesterInPod);
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
    const idleMemoryInPod = await ingesterInPod.memory();
    const ingesterUrl = `http://127.0.0.1:${ingesterPort}/webhooks/jira`;
    const podUrl = `http://127.0.0.1:${podPort}/webhooks/jira`;
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
    const warmInPod = await pacedLoad(FIXED_RATE, 3, post(podUrl));
    if (warmInPod.ok === 0) throw new Error('the ingester in its pod settings accepted none of the warm-up webhooks');
    const atRate = await fixedRate(FIXED_RATE_SECONDS);
    const memoryAtRate = await ingester.memory();
    const bareMemoryAtRate = await bare.memory();

    const levels: Level[] = [];
    for (const concurrency of CONCURRENCY) {
      ctx.progress(`figure 1: concurrency ${concurrency}`);
      const load = { webhook, connections: concurrency, seconds: SECONDS_PER_RUN };
      const measured = async (service: ServiceProcess, url: string) => {
        const cpuBefore = await service.cpuMs();
        const result = await httpLoad({ url, ...load });
        return { result, cpuMsPerAnswer: ((await service.cpuMs()) - cpuBefore) / Math.max(result.ok, 1) };
      };
      const onHost = await measured(ingester, ingesterUrl);
      const inPod = await measured(ingesterInPod, podUrl);
      const bareRun = await measured(bare, bareUrl);
      levels.push({
        concurrency,
        ingester: onHost.result,
        ingesterInPod: inPod.result,
        bareFastify: bareRun.result,
        rawPublisher: await closedLoop(concurrency, SECONDS_PER_RUN, () => publisher.publish(task)),
        cpuMsPerAnswer: {
          ingester: onHost.cpuMsPerAnswer,
          ingesterInPod: inPod.cpuMsPerAnswer,
          bareFastify: bareRun.cpuMsPerAnswer,
        },
      });
    }
    const memory = await ingester.memory();
    const memoryInPod = await ingesterInPod.memory();
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
    for (const level of levels) {
      const { cpuMsPerAnswer: cpu } = level;
      rows.push({
        figure: `1 ingester ${level.concurrency} conn: CPU per answer (host / pod settings)`,
        unit: 'ms',
        anton: cpu.ingester,
        baseline: cpu.bareFastify,
        baselineName: `bare Fastify; pod settings ${cpu.ingesterInPod.toFixed(2)} ms`,
        ratio: ratioOf(cpu.ingester, cpu.bareFastify),
      });
    }
    for (const level of levels) {
      const ratio = ratioOf(level.ingesterInPod.perSecond, level.ingester.perSecond);
      rows.push({
        figure: `1 ingester in pod settings ${level.concurrency} conn: answers/s`,
        unit: '/s',
        anton: level.ingesterInPod.perSecond,
        baseline: level.ingester.perSecond,
        baselineName: 'same ingester, host settings',
        ratio,
        target: '≥ 0.90×',
        met: ratio !== undefined && ratio >= 0.9,
      });
    }
    rows.push({
      figure: `1 ingester in pod settings RSS at peak, saturated (limit ${pod.memoryLimitMb} MB)`,
      unit: 'MB',
      anton: memoryInPod.peakMb,
      baseline: memory.peakMb,
      baselineName: 'host settings',
      ratio: ratioOf(memoryInPod.peakMb, memory.peakMb),
      target: '< 150 MB',
      met: memoryInPod.peakMb < 150,
    });
    const failed = [...levels.flatMap((l) => [l.ingester, l.ingesterInPod]), atRate.ingester].reduce(
      (sum, r) => sum + r.failed,
      0,
    );
    return {
      id: 'ingester',
      title: 'Ingester throughput and latency',
      rows,
      details: {
        secondsPerRun: SECONDS_PER_RUN,
        levels,
        fixedRate: { rate: FIXED_RATE, seconds: FIXED_RATE_SECONDS, ...atRate },
        ingesterMemoryMb: { idle: idleMemory, atRate: memoryAtRate, end: memory },
        pod: { ...pod, memoryMb: { idle: idleMemoryInPod, end: memoryInPod } },
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
