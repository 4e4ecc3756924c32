import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ANNOTATIONS, jobName } from '@anton/contracts';
import type { KubeObject } from '@anton/testing';
import { freePort } from '@anton/testing';
import { rawPublisher } from '../support/broker.ts';
import type { BenchContext } from '../support/context.ts';
import { type JobWatch, watchJobs } from '../support/job-watch.ts';
import { paced } from '../support/load.ts';
import { NAMESPACE, openPullRequest, startPipeline } from '../support/pipeline.ts';
import type { ProcessMemory } from '../support/process-usage.ts';
import { metricSum, scrape } from '../support/prometheus.ts';
import { recordedCalls } from '../support/recorded-calls.ts';
import { type FigureResult, ratioOf } from '../support/report.ts';
import { answers200, baseEnv, type ServiceProcess, startService } from '../support/service-process.ts';
import { type Summary, summarize } from '../support/stats.ts';
import { jiraTask } from '../support/tasks.ts';
import { deliver, jiraIssueCreated, signedJira } from '../support/webhooks.ts';

const BARE_DISPATCHER = new URL('../baselines/bare-dispatcher.ts', import.meta.url).pathname;
const RATE = 50;
const SECONDS = 10;
const WARMUP_TASKS = 100;
const SATURATION_TASKS = 300;

interface Measured {
  /** ms from each webhook's 202 to its Job in the API server. */
  latency: Summary;
  /** Tasks whose Job never appeared. */
  missing: number;
  notAccepted: number;
  saturation: { tasks: number; seconds: number; perSecond: number; missing: number };
  /** Right after start, and after the runs. */
  memory: { idle: ProcessMemory; end: ProcessMemory };
  /** The process's own CPU time per task over the measured runs (not the fakes' or the broker's). */
  cpuMsPerTask: number;
}

/**
 * Figure 2: the orchestrator (its own process, DISPATCHER=kubernetes) behind the real ingester,
 * against FakeKubernetes (Jobs completed at once, so the cap is never the limit) and a
 * zero-latency FakeAnthropic: time from each webhook's 202 to its Job in the API server at
 * 50 tasks/s, and tasks/s when the queue is full. Baseline: a bare consumer making the same
 * calls (claim, routing, Job, context ConfigMap) with @kubernetes/client-node, same prefetch.
 */
export async function dispatchOverhead(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  const pipeline = await startPipeline(ctx, 'bench-dispatch', { autoComplete: openPullRequest });
  let watch: JobWatch | undefined;
  const publisher = await rawPublisher(pipeline.vhost.url);
  const stoppable: ServiceProcess[] = [];
  let issue = 1_000;
  try {
    // The orchestrator records each runner's outcome on its Job; the bare consumer does not.
    let reapWhen: (job: KubeObject) => boolean = (job) => job.metadata.annotations?.[ANNOTATIONS.result] !== undefined;
    const jobs = await watchJobs(pipeline.kubernetes, NAMESPACE, { reap: (job) => reapWhen(job) });
    watch = jobs;
    const allSeen = async (taskIds: string[], timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline && !taskIds.every((id) => jobs.seen.has(jobName(id)))) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return taskIds.filter((id) => !jobs.seen.has(jobName(id))).length;
    };

    const latencyRun = async (count: number) => {
      const deliveries = await paced(RATE, count, () =>
        deliver(`${pipeline.webhooksUrl}jira`, signedJira(jiraIssueCreated(issue++))),
      );
      const accepted = deliveries.filter((d) => d.taskId !== undefined);
      const missing = await allSeen(
        accepted.map((d) => d.taskId as string),
        60_000,
      );
      const latencies = accepted.flatMap((d) => {
        const seen = jobs.seen.get(jobName(d.taskId as string));
        return seen === undefined ? [] : [seen - d.answeredAt];
      });
      return { latency: summarize(latencies), missing, notAccepted: count - accepted.length };
    };

    const saturationRun = async () => {
      const tasks = Array.from({ length: SATURATION_TASKS }, () => jiraTask(issue++));
      const t0 = performance.now();
      await Promise.all(tasks.map((task) => publisher.publish(Buffer.from(JSON.stringify(task)), task.task_id)));
      const missing = await allSeen(
        tasks.map((t) => t.task_id),
        120_000,
      );
      const last = Math.max(...tasks.map((t) => jobs.seen.get(jobName(t.task_id)) ?? 0));
      const seconds = (last - t0) / 1000;
      return { tasks: SATURATION_TASKS, seconds, perSecond: (SATURATION_TASKS - missing) / seconds, missing };
    };

    const measure = async (label: string, process: ServiceProcess): Promise<Measured> => {
      const idle = await process.memory();
      ctx.progress(`figure 2: ${label}: warm-up`);
      await latencyRun(WARMUP_TASKS);
      ctx.progress(`figure 2: ${label}: ${RATE} tasks/s for ${SECONDS} s`);
      const cpuBefore = await process.cpuMs();
      const latency = await latencyRun(RATE * SECONDS);
      ctx.progress(`figure 2: ${label}: ${SATURATION_TASKS} tasks at once`);
      const saturation = await saturationRun();
      const cpuMsPerTask = ((await process.cpuMs()) - cpuBefore) / (RATE * SECONDS + SATURATION_TASKS);
      return { ...latency, saturation, memory: { idle, end: await process.memory() }, cpuMsPerTask };
    };

    const orchestrator = await pipeline.startOrchestrator('dispatch-orchestrator', { MAX_ACTIVE_JOBS: '100000' });
    const anton = await measure('orchestrator', orchestrator.process);
    const metrics = await scrape(orchestrator.metricsUrl);
    const counters = {
      consumed: metricSum(metrics, 'anton_orchestrator_tasks_consumed_total'),
      dispatched: metricSum(metrics, 'anton_orchestrator_tasks_dispatched_total'),
      deduplicated: metricSum(metrics, 'anton_orchestrator_tasks_deduplicated_total'),
      deadLettered: metricSum(metrics, 'anton_orchestrator_tasks_dead_lettered_total'),
      retried: metricSum(metrics, 'anton_orchestrator_tasks_retried_total'),
      routingFallbacks: metricSum(metrics, 'anton_orchestrator_routing_fallbacks_total'),
    };
    const calls = recordedCalls(pipeline.kubernetes, pipeline.anthropic);
    await orchestrator.process.stop();

    /** Saturation again with PREFETCH=10: tasks handled concurrently instead of one by one. */
    const wideSaturation = async (label: string, process: ServiceProcess) => {
      ctx.progress(`figure 2: ${label} with PREFETCH=10: ${SATURATION_TASKS} tasks at once`);
      await latencyRun(WARMUP_TASKS);
      const saturation = await saturationRun();
      await process.stop();
      return saturation;
    };
    const wide = await pipeline.startOrchestrator('dispatch-orchestrator-prefetch10', {
      MAX_ACTIVE_JOBS: '100000',
      PREFETCH: '10',
    });
    const antonWide = await wideSaturation('orchestrator', wide.process);

    const callsPath = join(ctx.tmpDir, 'dispatch-calls.json');
    await writeFile(callsPath, JSON.stringify(calls));
    reapWhen = (job) => Number((job.status as { succeeded?: number } | undefined)?.succeeded ?? 0) > 0;
    const startBare = async (prefetch: number) => {
      const port = await freePort();
      const bare = await startService({
        name: `bare-dispatcher-prefetch${prefetch}`,
        entry: BARE_DISPATCHER,
        env: {
          ...baseEnv(),
          RABBITMQ_URL: pipeline.vhost.url,
          KUBECONFIG: pipeline.kubernetes.kubeconfigPath,
          NAMESPACE,
          ANTHROPIC_URL: pipeline.anthropic.url,
          CALLS: callsPath,
          PREFETCH: String(prefetch),
          PORT: String(port),
        },
        logDir: ctx.logDir,
        ready: answers200(`http://127.0.0.1:${port}/`),
      });
      stoppable.push(bare);
      return bare;
    };
    const bare = await startBare(1);
    const baseline = await measure('bare dispatcher', bare);
    await bare.stop();
    const baselineWide = await wideSaturation('bare dispatcher', await startBare(10));

    const a = anton;
    const b = baseline;
    const antonPeak = a.memory.end.peakMb;
    return {
      id: 'dispatch',
      title: 'Dispatch overhead',
      rows: [
        {
          figure: `2 dispatch 202→Job at ${RATE}/s: p50`,
          unit: 'ms',
          anton: a.latency.p50,
          baseline: b.latency.p50,
          baselineName: 'bare consumer',
          ratio: ratioOf(a.latency.p50, b.latency.p50),
          target: '< 30 ms',
          met: a.latency.p50 < 30,
        },
        {
          figure: `2 dispatch 202→Job at ${RATE}/s: p99`,
          unit: 'ms',
          anton: a.latency.p99,
          baseline: b.latency.p99,
          baselineName: 'bare consumer',
          ratio: ratioOf(a.latency.p99, b.latency.p99),
          target: '< 150 ms',
          met: a.latency.p99 < 150,
        },
        {
          figure: '2 dispatch at saturation (PREFETCH=1, default)',
          unit: 'tasks/s',
          anton: a.saturation.perSecond,
          baseline: b.saturation.perSecond,
          baselineName: 'bare consumer',
          ratio: ratioOf(a.saturation.perSecond, b.saturation.perSecond),
        },
        {
          figure: '2 CPU time per task (process itself)',
          unit: 'ms',
          anton: a.cpuMsPerTask,
          baseline: b.cpuMsPerTask,
          baselineName: 'bare consumer',
          ratio: ratioOf(a.cpuMsPerTask, b.cpuMsPerTask),
        },
        {
          figure: '2 dispatch at saturation (PREFETCH=10)',
          unit: 'tasks/s',
          anton: antonWide.perSecond,
          baseline: baselineWide.perSecond,
          baselineName: 'bare consumer',
          ratio: ratioOf(antonWide.perSecond, baselineWide.perSecond),
        },
        {
          figure: '2 orchestrator RSS at peak (VmHWM)',
          unit: 'MB',
          anton: antonPeak,
          baseline: b.memory.end.peakMb,
          baselineName: 'bare consumer',
          ratio: ratioOf(antonPeak, b.memory.end.peakMb),
          target: '< 150 MB',
          met: antonPeak < 150,
        },
      ],
      details: {
        rate: RATE,
        seconds: SECONDS,
        orchestrator: anton,
        orchestratorCounters: counters,
        bareConsumer: baseline,
        prefetch10: { orchestrator: antonWide, bareConsumer: baselineWide },
        jobsReaped: jobs.reaped,
      },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    watch?.close();
    for (const service of stoppable) await service.stop();
    await publisher.close();
    await pipeline.close();
  }
}
