import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import Anthropic from '@anthropic-ai/sdk';
import { LABELS, RUNNER_APP } from '@anton/contracts';
import type { Logger } from 'pino';
import { Capacity } from './capacity.ts';
import type { OrchestratorConfig } from './config.ts';
import { TaskConsumer } from './consumer.ts';
import { type ClaimStore, Deduplicator, MemoryClaimStore } from './dedup.ts';
import type { Dispatcher } from './dispatch/dispatcher.ts';
import { KubernetesDispatcher } from './dispatch/kubernetes-dispatcher.ts';
import { LocalDispatcher } from './dispatch/local-dispatcher.ts';
import { createEnrichment } from './enrichment/enrich-task.ts';
import { enrichersFromConfig } from './enrichment/registry.ts';
import { handleTask, type TaskPorts } from './handle-task.ts';
import { type HealthServer, type ReadinessChecks, startHealthServer } from './health-server.ts';
import { createKubernetesApi, loadKubeConfig } from './kubernetes/client-node-api.ts';
import { KubernetesClaimStore } from './kubernetes/kubernetes-claim-store.ts';
import { trackRunnerJobs } from './kubernetes/runner-job-tracker.ts';
import { DEFAULT_RETRY_POLICY } from './kubernetes/with-retry.ts';
import { createMetrics } from './metrics.ts';
import type { FinishedTask } from './outcomes/finished-task.ts';
import { JobOutcomeWatcher, type OutcomeSink } from './outcomes/job-outcome-watcher.ts';
import { OutcomePublisher } from './outcomes/outcome-publisher.ts';
import { OutcomeReporting } from './outcomes/outcome-reporting.ts';
import { JobRenderer } from './render-job.ts';
import { reportersBySource } from './reporters/registry.ts';
import { ReportQueue } from './reporters/report-queue.ts';
import { ClaudeRouter } from './router/claude-router.ts';
import { loadRoutingConfig } from './routing-config.ts';

const CLAIM_SWEEP_INTERVAL_MS = 60 * 60 * 1000;

export interface RunningOrchestrator {
  /** The health port's base URL. */
  healthUrl: string;
  /** Stops consuming, lets in-flight tasks finish, then closes everything. */
  stop(): Promise<void>;
}

/** Wires the orchestrator from its configuration and starts it. */
export async function startOrchestrator(config: OrchestratorConfig, logger: Logger): Promise<RunningOrchestrator> {
  const metrics = createMetrics({ defaults: true });
  const routing = await loadRoutingConfig(config.routingConfigPath);
  logger.info({ repositories: routing.repositories.length }, 'routing config loaded');
  const capacity = new Capacity(config.maxActiveJobs, (used) => metrics.activeJobs.set(used));
  const checks: ReadinessChecks = {};
  const cleanups: Array<() => Promise<void>> = [];

  // Outcomes come from the Job watcher or the local runners, both started below once this exists.
  const sink: OutcomeSink = {
    owed: (finished) => reporting.owed(finished),
    report: (finished, only, onDone) => reporting.report(finished, only, onDone),
  };
  /** Run once the report queue has drained. */
  const afterReporting: Array<() => Promise<void>> = [];

  let dispatcher: Dispatcher;
  let claims: ClaimStore;
  let startWatching: (() => Promise<void>) | undefined;
  if (config.dispatcher === 'kubernetes') {
    const api = createKubernetesApi(loadKubeConfig(config.kubernetes.kubeconfig), config.kubernetes.namespace, logger);
    const retry = {
      ...DEFAULT_RETRY_POLICY,
      retries: config.kubernetes.retries,
      baseDelayMs: config.kubernetes.retryDelayMs,
    };
    dispatcher = new KubernetesDispatcher({
      api,
      renderer: await JobRenderer.load(config.templatesDir),
      settings: {
        namespace: config.kubernetes.namespace,
        images: config.kubernetes.images,
        upstreams: config.upstreams,
        budget: config.budget,
      },
      retry,
      logger,
    });
    claims = new KubernetesClaimStore(api, { policy: retry, logger });
    // The backpressure and the outcomes need the runner Jobs: one watch, not polling.
    const informer = api.watchJobs(`${LABELS.app}=${RUNNER_APP}`);
    trackRunnerJobs(informer, { capacity });
    const watcher = new JobOutcomeWatcher({
      api,
      informer,
      policy: retry,
      logger,
      reporter: `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`,
      sink,
      leaseMs: config.reports.leaseMs,
    });
    startWatching = async () => {
      watcher.start();
      await informer.start();
    };
    checks.kubernetes = () => informer.synced;
    cleanups.push(
      () => watcher.stop(),
      () => informer.stop(),
    );
    afterReporting.push(() => watcher.settled());
  } else {
    const local = new LocalDispatcher({
      runnerDir: config.local.runnerDir,
      keys: config.local.keys,
      upstreams: config.upstreams,
      budget: config.budget,
      path: config.local.path,
      unsafeSharedUid: config.local.unsafeSharedUid,
      capacity,
      logger,
      onFinished: (finished: FinishedTask) => void sink.report(finished),
    });
    dispatcher = local;
    claims = new MemoryClaimStore();
    cleanups.push(() => local.close());
  }

  const dedup = new Deduplicator({
    store: claims,
    status: (taskId) => dispatcher.status(taskId),
    windowMs: config.dedupWindowMs,
  });
  const reportQueue = new ReportQueue({ ...config.reports, logger, metrics });
  const publisher = await OutcomePublisher.start({ url: config.rabbitmq.url, logger });
  /** After the runners' side is closed: the reports it left get their chance, then the publisher goes. */
  const closeReporting = async (timeoutMs: number) => {
    await reportQueue.drain(timeoutMs);
    for (const after of afterReporting) await after();
    await publisher.close();
  };
  const reporting = new OutcomeReporting({
    queue: reportQueue,
    publish: (outcome) => publisher.publish(outcome),
    publishAttempts: config.reports.publishAttempts,
    reporters: reportersBySource(config.reporters),
    releaseClaim: (hash, taskId) => dedup.release(hash, taskId),
    metrics,
    logger,
  });
  const sweeper = setInterval(() => {
    dedup.sweep().then(
      (removed) => removed > 0 && logger.info({ removed }, 'expired deduplication claims removed'),
      (err) => logger.warn({ err }, 'claim sweep failed'),
    );
  }, CLAIM_SWEEP_INTERVAL_MS);
  sweeper.unref();

  const llm = config.router.apiKey
    ? new ClaudeRouter({
        client: new Anthropic({
          apiKey: config.router.apiKey,
          ...(config.router.baseUrl && { baseURL: config.router.baseUrl }),
          maxRetries: config.router.maxRetries,
          timeout: config.router.timeoutMs,
        }),
        model: config.router.model,
        maxTokens: config.router.maxTokens,
      })
    : undefined;
  if (!llm) logger.warn('ANTHROPIC_API_KEY is not set: every task is routed by rules');

  const ports: TaskPorts = {
    dedup,
    routing,
    llm,
    dispatcher,
    capacity,
    capacityHoldMs: config.capacityHoldMs,
    metrics,
    enrich: createEnrichment(enrichersFromConfig(config.enrichment, logger), config.enrichment, metrics),
  };
  const consumer = new TaskConsumer({
    url: config.rabbitmq.url,
    prefetch: config.rabbitmq.prefetch,
    maxRetries: config.rabbitmq.maxRetries,
    handle: (task, context) => handleTask(task, ports, context),
    logger,
    metrics,
  });
  checks.rabbitmq = () => consumer.ready;

  let health: HealthServer | undefined;
  try {
    await startWatching?.();
    health = await startHealthServer({ ...config.metrics, registry: metrics.registry, checks });
    await consumer.start();
  } catch (err) {
    await health?.close();
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    await closeReporting(0);
    clearInterval(sweeper);
    throw err;
  }
  logger.info(
    { dispatcher: config.dispatcher, max_active_jobs: config.maxActiveJobs, health: health.url },
    'orchestrator started',
  );

  const healthServer = health;
  return {
    healthUrl: healthServer.url,
    stop: async () => {
      await consumer.stop(config.shutdownTimeoutMs);
      clearInterval(sweeper);
      for (const cleanup of cleanups) await cleanup().catch((err) => logger.warn({ err }, 'cleanup failed'));
      await closeReporting(config.shutdownTimeoutMs);
      await healthServer.close();
      logger.info('orchestrator stopped');
    },
  };
}
