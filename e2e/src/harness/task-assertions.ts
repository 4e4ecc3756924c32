import { readFile } from 'node:fs/promises';
import {
  ANNOTATIONS,
  CONTEXT_FILE,
  LABELS,
  RunnerContext,
  RunnerResult,
  type Source,
  type TaskOutcome,
} from '@anton/contracts';
import { type FakePull, type KubeObject, runGit, SAMPLE_FIX, waitFor } from '@anton/testing';
import { expect } from 'vitest';
import type { PodRun } from './kubelet.ts';
import { NAMESPACE, type Pipeline } from './pipeline.ts';

// What the suites check about one task, phase by phase. Waits are generous: CI machines are slow.
const WAIT = { timeoutMs: 20_000 };

/** The task's Job and context ConfigMap, once both exist. */
export async function jobOf(pipeline: Pipeline, taskId: string): Promise<{ job: KubeObject; configMap: KubeObject }> {
  const job = await waitFor(() => pipeline.job(taskId), { ...WAIT, what: `the Job of ${taskId}` });
  const configMap = await waitFor(() => pipeline.contextConfigMap(taskId), {
    ...WAIT,
    what: `the ConfigMap of ${taskId}`,
  });
  return { job, configMap };
}

/** The task's one pod, run to its end without a harness error. */
export async function finishedRun(pipeline: Pipeline, taskId: string): Promise<PodRun> {
  const run = await waitFor(() => pipeline.kubelet?.runsFor(taskId)[0], { ...WAIT, what: `the pod of ${taskId}` });
  await run.done;
  expect(run.error, run.agent?.process.tail()).toBeUndefined();
  expect(pipeline.kubelet?.runsFor(taskId)).toHaveLength(1);
  return run;
}

export function pullsFor(pipeline: Pipeline, branch: string | undefined): FakePull[] {
  return pipeline.github.pulls('acme', 'sample-shop').filter((pull) => pull.head === branch);
}

/** The agent ran with the Job's env, task.json from the ConfigMap at CONTEXT_PATH, and no secret. */
export async function expectRunAsTheJobSays(
  pipeline: Pipeline,
  taskId: string,
  { run, configMap, plan }: { run: PodRun; configMap: KubeObject; plan: { template_id: string; complexity: string } },
): Promise<void> {
  const agent = run.agent;
  if (!agent) throw new Error(`no agent container ran for ${taskId}`);
  expect(agent.command).toEqual(['tini', '--', 'node', 'dist/main.js']);
  expect(agent.env).toMatchObject({
    TASK_ID: taskId,
    TEMPLATE_ID: plan.template_id,
    COMPLEXITY: plan.complexity,
    CREDENTIAL_PROXY_URL: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
  });
  expect(agent.env.CONTEXT_PATH).toBe(`${agent.mounts.get('/app/context')}/${CONTEXT_FILE}`);
  const mounted = await readFile(agent.env.CONTEXT_PATH ?? '', 'utf8');
  expect(mounted).toBe((configMap as { data?: Record<string, string> }).data?.[CONTEXT_FILE]);
  const context = RunnerContext.parse(JSON.parse(mounted));
  expect(context).toMatchObject({ repo_url: pipeline.repoUrl, base_branch: 'main' });
  expect(context.task?.task_id).toBe(taskId);
  // The keys reached the credential proxy from anton-secrets, and the agent not at all.
  const [proxy] = run.sidecars;
  expect(proxy?.command).toEqual(['tini', '--', 'node', 'dist/credential-proxy/main.js']);
  expect(proxy?.env).toMatchObject({
    ANTHROPIC_API_KEY: pipeline.anthropic.apiKey,
    OPENAI_API_KEY: pipeline.openai.apiKey,
    ALLOWED_REPOSITORY: pipeline.repoUrl,
  });
  const agentEnv = JSON.stringify(agent.env);
  for (const secret of pipeline.secretValues) expect(agentEnv).not.toContain(secret);
}

/** The run ended in a pushed branch holding the fix and one open pull request from it; its result. */
export async function expectPullRequest(pipeline: Pipeline, taskId: string, run: PodRun): Promise<RunnerResult> {
  expect(run.exitCode, run.agent?.process.tail()).toBe(0);
  const result = RunnerResult.parse(JSON.parse(run.terminationMessage ?? ''));
  expect(result).toMatchObject({ status: 'pr_opened', task_id: taskId });
  const file = `refs/heads/${result.branch}:${SAMPLE_FIX.file}`;
  const fixed = await runGit(['--git-dir', pipeline.sample.bareDir, 'show', file]);
  expect(fixed).toContain(SAMPLE_FIX.fixed);
  expect(fixed).not.toContain(SAMPLE_FIX.buggy);
  const pulls = pullsFor(pipeline, result.branch);
  expect(pulls).toHaveLength(1);
  expect(pulls[0]).toMatchObject({ base: 'main', state: 'open', htmlUrl: result.pr_url });
  return result;
}

/**
 * The result reached the orchestrator: it published one `task.completed` outcome matching the
 * runner's result and recorded it on the Job (label and annotations), and freed the Job's slot.
 */
export async function expectOutcomeRecorded(
  pipeline: Pipeline,
  taskId: string,
  { source, result }: { source: Source; result: RunnerResult },
): Promise<TaskOutcome> {
  const outcomes = await waitFor(() => nonEmpty(pipeline.outcomesFor(taskId)), {
    ...WAIT,
    what: `the task.completed outcome of ${taskId}`,
  });
  expect(outcomes).toHaveLength(1);
  const [outcome] = outcomes;
  expect(outcome).toMatchObject({ task_id: taskId, source, status: result.status, pr_url: result.pr_url });
  const job = await waitFor(
    () => {
      const job = pipeline.job(taskId);
      return job?.metadata.annotations?.[ANNOTATIONS.result] === undefined ? undefined : job;
    },
    {
      ...WAIT,
      what: `the outcome on the Job of ${taskId}`,
    },
  );
  expect(job.metadata.annotations).toMatchObject({
    [ANNOTATIONS.result]: result.status,
    ...(result.pr_url && { [ANNOTATIONS.prUrl]: result.pr_url }),
  });
  expect(job.metadata.labels?.[LABELS.result]).toBe(result.status);
  await waitFor(async () => /^anton_orchestrator_active_jobs 0$/m.test(await pipeline.metrics()), {
    ...WAIT,
    what: 'the orchestrator to free the slot',
  });
  return outcome as TaskOutcome;
}

/** One task id through the ingester's, the orchestrator's and the runner's logs (and the proxy's). */
export function expectTaskInEveryLog(pipeline: Pipeline, taskId: string): void {
  const logs = pipeline.logsFor(taskId);
  expect(logs.ingester.map((line) => line.msg)).toContain('task published');
  expect(logs.orchestrator.map((line) => line.msg)).toEqual(expect.arrayContaining(['task routed', 'Job created']));
  expect(logs.runner.map((line) => line.msg)).toEqual(expect.arrayContaining(['repository cloned', 'run finished']));
  expect(logs.proxy.length).toBeGreaterThan(0);
}

/** Runner Jobs and context ConfigMaps in the cluster, to compare before and after. */
export function clusterCounts(pipeline: Pipeline): { jobs: number; contexts: number } {
  return {
    jobs: pipeline.runnerJobs().length,
    contexts: pipeline.kubernetes.configMaps(NAMESPACE).filter((c) => c.metadata.name?.startsWith('agent-ctx-')).length,
  };
}

/** The list if it holds something (for waitFor), else undefined. */
export function nonEmpty<T>(list: T[]): T[] | undefined {
  return list.length > 0 ? list : undefined;
}
