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
import { requireSupportedKubernetes } from './kubernetes/server-version.ts';
import { DEFAULT_RETRY_POLICY, withRetry } from './kubernetes/with-retry.ts';
import { createMetrics } from './metrics.ts';
import type { FinishedTask } from './outcomes/finished-task.ts';
import { JobOutcomeWatcher, type OutcomeSink } from './outcomes/job-outcome-watcher.ts';
import { OutcomeHandOver } from './outcomes/outcome-hand-over.ts';
import { OutcomePublisher } from './outcomes/outcome-publisher.ts';
import { JobRenderer } from './render-job.ts';
import { reporterSources, reportersBySource } from './reporters/registry.ts';
import { declareReportTopology, reportConsumer } from './reporters/report-consumer.ts';
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
  const routing = await loadRoutingConfig(config.routingConfigPath, config.gitOrigin);
  logger.info(
    { repositories: routing.repositories.length, allowed: routing.allowed_repositories.length, git: routing.gitOrigin },
    'routing config loaded',
  );
  const capacity = new Capacity(config.maxActiveJobs, (used) => metrics.activeJobs.set(used));
  const checks: ReadinessChecks = {};
  const cleanups: Array<() => Promise<void>> = [];

  // Outcomes come from the Job watcher or the local runners, both started below once this exists.
  const sink: OutcomeSink = {
    publish: (finished) => handOver.publish(finished),
    recorded: (finished) => handOver.recorded(finished),
  };

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
    // Before anything is consumed: on an older cluster no runner Job would ever start.
    const server = await withRetry('read the Kubernetes version', () => requireSupportedKubernetes(api), {
      policy: retry,
      logger,
    });
    logger.info({ kubernetes: server.gitVersion }, 'Kubernetes version supported');
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
      sink,
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
      onFinished: (finished: FinishedTask) => void handOver.local(finished),
    });
    dispatcher = local;
    claims = new MemoryClaimStore();
    cleanups.push(() => local.close());
  }

  const dedup = new Deduplicator({
    store: claims,
    status: (taskId) => dispatcher.status(taskId),
    windowMs: config.dedupWindowMs,
    pendingMs: config.dedupPendingMs,
  });
  // Each reporter consumes its own durable queue bound to task.completed; the publisher declares
  // those queues too, so no outcome is published before they exist.
  const reporters = reporterSources(reportersBySource(config.reporters, logger)).map(({ reporter, sources }) =>
    reportConsumer({ url: config.rabbitmq.url, reporter, sources, settings: config.reports, logger, metrics }),
  );
  const reportRoutes = reporters.map((consumer) => consumer.route);
  const publisher = await OutcomePublisher.start({
    url: config.rabbitmq.url,
    logger,
    declare: async (channel) => {
      for (const route of reportRoutes) await declareReportTopology(channel, route);
    },
  });
  const closeReporting = async (timeoutMs: number) => {
    for (const consumer of reporters) await consumer.stop(timeoutMs);
    await publisher.close();
  };
  const handOver = new OutcomeHandOver({
    publish: (outcome) => publisher.publish(outcome),
    releaseClaim: (hash, taskId) => dedup.release(hash, taskId),
    metrics,
    logger,
    localAttempts: config.reports.publishAttempts,
    localRetryDelayMs: 1000,
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
    retrySteps: config.rabbitmq.retrySteps,
    handle: (task, context) => handleTask(task, ports, context),
    logger,
    metrics,
  });
  checks.rabbitmq = () => consumer.ready;

  let health: HealthServer | undefined;
  try {
    health = await startHealthServer({ ...config.metrics, registry: metrics.registry, checks });
    await startWatching?.();
    await consumer.start();
    for (const reporter of reporters) await reporter.start();
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
