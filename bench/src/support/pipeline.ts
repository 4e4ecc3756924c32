import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ANNOTATIONS, branchNameFor, emptyUsage, encodeRunnerResult, LABELS, type RouterPlan } from '@anton/contracts';
import {
  createTestVhost,
  FakeAnthropic,
  FakeKubernetes,
  type FakeKubernetesOptions,
  freePort,
  type KubeObject,
  type ScriptedOutcome,
  type TestVhost,
} from '@anton/testing';
import type { BenchContext } from './context.ts';
import { answers200, baseEnv, ENTRY_POINTS, type ServiceProcess, startService } from './service-process.ts';
import { JIRA_PROJECT, WEBHOOK_SECRET } from './webhooks.ts';

export const NAMESPACE = 'agents';
export const SAMPLE_REPOSITORY = 'https://github.com/acme/sample-shop.git';
export const PLAN: RouterPlan = {
  template_id: 'react-frontend',
  complexity: 'low',
  required_skills: ['javascript'],
  context_summary: 'The discount formula multiplies by the percentage instead of its fraction.',
};

/** Every runner opens its pull request at once (its pod ends with the runner's result). */
export function openPullRequest(job: KubeObject): ScriptedOutcome {
  const taskId = job.metadata.labels?.[LABELS.taskId];
  const result = {
    status: 'pr_opened' as const,
    ...(taskId ? { task_id: taskId } : {}),
    pr_url: 'https://github.com/acme/sample-shop/pull/1',
    // The orchestrator checks the branch against the task's own.
    branch: branchNameFor(job.metadata.annotations?.[ANNOTATIONS.externalId] ?? ''),
    turns: 8,
    review_rounds: 1,
    usage: { coder: emptyUsage(), reviewer: emptyUsage() },
    cost_usd: 0,
  };
  return { phase: 'succeeded', terminationMessage: encodeRunnerResult(result) };
}

/**
 * The front of anton as deployed, on this machine: the ingester and the orchestrator as their own
 * processes from their real entry points, the real broker (a vhost of their own), FakeKubernetes
 * and a zero-latency FakeAnthropic answering every routing call with the same plan.
 */
export interface Pipeline {
  vhost: TestVhost;
  kubernetes: FakeKubernetes;
  anthropic: FakeAnthropic;
  /** `http://127.0.0.1:<port>/webhooks/` */
  webhooksUrl: string;
  /** Starts the orchestrator; `env` overrides its configuration. Returns it and its metrics URL. */
  startOrchestrator(
    name: string,
    env?: Record<string, string>,
  ): Promise<{ process: ServiceProcess; metricsUrl: string }>;
  close(): Promise<void>;
}

export async function startPipeline(
  ctx: BenchContext,
  label: string,
  kubernetesOptions: FakeKubernetesOptions = {},
): Promise<Pipeline> {
  const services: ServiceProcess[] = [];
  const vhost = await createTestVhost(label);
  const kubernetes = await FakeKubernetes.start(kubernetesOptions);
  const anthropic = await FakeAnthropic.start();
  anthropic.setHandler(() => ({ content: [{ type: 'tool_use', name: 'route_task', input: PLAN }] }));
  const close = async () => {
    for (const service of services.reverse()) await service.stop();
    await kubernetes.close();
    await anthropic.close();
    await vhost.delete();
  };
  try {
    const routingPath = join(ctx.tmpDir, `${label}-routing.yaml`);
    await writeFile(
      routingPath,
      `repositories:\n  - url: ${SAMPLE_REPOSITORY}\n    base_branch: main\n    jira_projects: [${JIRA_PROJECT}]\n`,
    );
    const port = await freePort();
    const ingester = await startService({
      name: `${label}-ingester`,
      entry: ENTRY_POINTS.ingester,
      env: {
        ...baseEnv(),
        WEBHOOK_SECRET,
        RABBITMQ_URL: vhost.url,
        PORT: String(port),
        METRICS_PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      logDir: ctx.logDir,
      ready: answers200(`http://127.0.0.1:${port}/readyz`),
    });
    services.push(ingester);
    return {
      vhost,
      kubernetes,
      anthropic,
      webhooksUrl: `http://127.0.0.1:${port}/webhooks/`,
      async startOrchestrator(name, env = {}) {
        const metricsPort = await freePort();
        const orchestrator = await startService({
          name,
          entry: ENTRY_POINTS.orchestrator,
          env: {
            ...baseEnv(),
            LOG_LEVEL: 'info',
            RABBITMQ_URL: vhost.url,
            DISPATCHER: 'kubernetes',
            KUBECONFIG: kubernetes.kubeconfigPath,
            K8S_NAMESPACE: NAMESPACE,
            AGENT_IMAGE: 'registry.example/anton-runner:1.0.0',
            ANTHROPIC_API_KEY: anthropic.apiKey,
            ANTHROPIC_BASE_URL: anthropic.url,
            ROUTING_CONFIG: routingPath,
            METRICS_PORT: String(metricsPort),
            METRICS_HOST: '127.0.0.1',
            ...env,
          },
          logDir: ctx.logDir,
          ready: answers200(`http://127.0.0.1:${metricsPort}/readyz`),
        });
        services.push(orchestrator);
        return { process: orchestrator, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
