import { readFile } from 'node:fs/promises';
import {
  CONTEXT_FILE,
  CONTEXT_PATH,
  LABELS,
  RunnerContext,
  RunnerResult,
  type Source,
  TASK_CREATED,
} from '@anton/contracts';
import { runGit, SAMPLE_FIX, waitFor } from '@anton/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ExchangeTap, tapExchange } from './harness/exchange-tap.ts';
import type { PodRun } from './harness/kubelet.ts';
import { Pipeline } from './harness/pipeline.ts';
import { datadogAlert, jiraIssueCreated, sonarGateFailed } from './harness/sample-webhooks.ts';
import { SCRIPTED_PLAN } from './harness/scripted-llm.ts';

// One pipeline for the file: each test uses incidents of its own and waits for its pods to end.
let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await Pipeline.start({ label: 'e2e-flow' });
});
afterAll(() => pipeline?.close());
afterEach(async () => {
  await pipeline.kubelet?.idle();
  expect(pipeline.anthropic.failures).toEqual([]);
  expect(pipeline.openai.failures).toEqual([]);
});

type Json = Record<string, unknown>;

async function accepted(source: Source, payload: object, headers: Record<string, string> = {}): Promise<string> {
  const reply = await pipeline.postWebhook(source, payload, { headers });
  expect(reply.status, JSON.stringify(reply.body)).toBe(202);
  return String(reply.body.task_id);
}

/** The task's one pod, run to its end. */
async function finishedRun(taskId: string): Promise<PodRun> {
  const run = await waitFor(() => pipeline.kubelet?.runsFor(taskId)[0], {
    timeoutMs: 20_000,
    what: `the pod of ${taskId}`,
  });
  await run.done;
  expect(run.error, run.agent?.process.tail()).toBeUndefined();
  expect(pipeline.kubelet?.runsFor(taskId)).toHaveLength(1);
  return run;
}

function pullsFor(branch: string | undefined) {
  return pipeline.github.pulls('acme', 'sample-shop').filter((pull) => pull.head === branch);
}

/** Everything after the 202, for a task that should end in a pull request. */
async function expectFixedThroughItsJob(taskId: string, jobsBefore: number): Promise<void> {
  // Exactly one ConfigMap and one Job, named after the task.
  const job = await waitFor(() => pipeline.job(taskId), { timeoutMs: 20_000, what: 'the Job' });
  const configMap = await waitFor(() => pipeline.contextConfigMap(taskId), {
    timeoutMs: 20_000,
    what: 'the ConfigMap',
  });
  const run = await finishedRun(taskId);
  expect(pipeline.runnerJobs()).toHaveLength(jobsBefore + 1);
  expect(
    pipeline.kubernetes.configMaps('agents').filter((c) => c.metadata.name?.startsWith('agent-ctx-')),
  ).toHaveLength(jobsBefore + 1);

  // The runner ran the way the Job says: its env, and task.json from the ConfigMap at CONTEXT_PATH.
  const podSpec = (job.spec as { template: { spec: { containers: Array<{ name: string; command: string[] }> } } })
    .template.spec;
  expect(podSpec.containers.find((c) => c.name === 'agent')?.command).toEqual(['node', 'dist/main.js']);
  const agent = run.agent;
  if (!agent) throw new Error('no agent container ran');
  expect(agent.env).toMatchObject({
    TASK_ID: taskId,
    TEMPLATE_ID: SCRIPTED_PLAN.template_id,
    COMPLEXITY: SCRIPTED_PLAN.complexity,
    CREDENTIAL_PROXY_URL: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
  });
  expect(agent.env.CONTEXT_PATH).toBe(`${agent.mounts.get('/app/context')}/${CONTEXT_FILE}`);
  expect(CONTEXT_PATH).toBe(`/app/context/${CONTEXT_FILE}`);
  const mounted = await readFile(agent.env.CONTEXT_PATH ?? '', 'utf8');
  expect(mounted).toBe((configMap as { data?: Json }).data?.[CONTEXT_FILE]);
  const context = RunnerContext.parse(JSON.parse(mounted));
  expect(context).toMatchObject({ repo_url: pipeline.repoUrl, base_branch: 'main', routed_by: 'llm' });
  expect(context.task?.task_id).toBe(taskId);
  // The keys reached the credential proxy from anton-secrets, and the agent not at all.
  const [proxy] = run.sidecars;
  expect(proxy?.env).toMatchObject({
    ANTHROPIC_API_KEY: pipeline.anthropic.apiKey,
    OPENAI_API_KEY: pipeline.openai.apiKey,
    ALLOWED_REPOSITORY: pipeline.repoUrl,
  });
  const agentEnv = JSON.stringify(agent.env);
  for (const secret of pipeline.secretValues) expect(agentEnv).not.toContain(secret);

  // The branch is pushed to the bare repository with the fix, and one pull request opened from it.
  expect(run.exitCode, agent.process.tail()).toBe(0);
  const result = RunnerResult.parse(JSON.parse(run.terminationMessage ?? ''));
  expect(result).toMatchObject({ status: 'pr_opened', task_id: taskId });
  const fixed = await runGit([
    '--git-dir',
    pipeline.sample.bareDir,
    'show',
    `refs/heads/${result.branch}:${SAMPLE_FIX.file}`,
  ]);
  expect(fixed).toContain(SAMPLE_FIX.fixed);
  expect(fixed).not.toContain(SAMPLE_FIX.buggy);
  const pulls = pullsFor(result.branch);
  expect(pulls).toHaveLength(1);
  expect(pulls[0]).toMatchObject({ base: 'main', state: 'open', htmlUrl: result.pr_url });

  // The result reached the orchestrator: its Job watch saw the Job complete and freed the slot.
  const ended = pipeline.job(taskId);
  expect((ended?.status as { succeeded?: number } | undefined)?.succeeded).toBe(1);
  await waitFor(async () => /^anton_orchestrator_active_jobs 0$/m.test(await pipeline.metrics()), {
    timeoutMs: 20_000,
    what: 'the orchestrator to see the Job end',
  });

  // One task id through all three processes' logs (and the proxy's).
  const logs = pipeline.logsFor(taskId);
  expect(logs.ingester.map((line) => line.msg)).toContain('task published');
  expect(logs.orchestrator.map((line) => line.msg)).toEqual(expect.arrayContaining(['task routed', 'Job created']));
  expect(logs.runner.map((line) => line.msg)).toEqual(expect.arrayContaining(['repository cloned', 'run finished']));
  expect(logs.proxy.length).toBeGreaterThan(0);
}

describe('a signed webhook becomes one Job, one pushed fix and one pull request', () => {
  it.each([
    ['jira' as const, () => jiraIssueCreated(1)],
    ['datadog' as const, () => datadogAlert('e2e-alert-1')],
    ['sonarcloud' as const, () => sonarGateFailed('e2e-analysis-1')],
  ])('%s', async (source, payload) => {
    const jobsBefore = pipeline.runnerJobs().length;
    const taskId = await accepted(source, payload());
    await expectFixedThroughItsJob(taskId, jobsBefore);
    expect(pipeline.job(taskId)?.metadata.labels?.[LABELS.source]).toBe(source);
  });
});

describe('what must not start work', () => {
  let tap: ExchangeTap;
  beforeAll(async () => {
    tap = await tapExchange(pipeline.vhost.url);
  });
  afterAll(() => tap?.close());

  it('an ignored event (a Datadog recovery) publishes nothing and starts no Job', async () => {
    const jobsBefore = pipeline.runnerJobs().length;
    const reply = await pipeline.postWebhook('datadog', datadogAlert('e2e-recovery-1', { transition: 'Recovered' }));
    expect(reply).toEqual({ status: 200, body: { status: 'ignored', reason: expect.stringContaining('recovery') } });
    expect(await tap.publishedSinceLastCheck()).toEqual([]);
    expect(pipeline.runnerJobs()).toHaveLength(jobsBefore);
    expect(pipeline.ingester.lines.some((line) => line.msg === 'webhook ignored')).toBe(true);
  });

  it('a redelivery with the same Jira delivery id is the same task: one message, one Job', async () => {
    const jobsBefore = pipeline.runnerJobs().length;
    const body = Buffer.from(JSON.stringify(jiraIssueCreated(2)));
    const headers = { 'x-atlassian-webhook-identifier': 'e2e-delivery-2' };
    await tap.publishedSinceLastCheck();
    const first = await pipeline.postWebhook('jira', body, { headers });
    const again = await pipeline.postWebhook('jira', body, { headers });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.body.task_id).toBe(first.body.task_id);
    const published = await tap.publishedSinceLastCheck();
    expect(published.map((message) => message.routingKey)).toEqual([TASK_CREATED]);

    await finishedRun(String(first.body.task_id));
    expect(pipeline.runnerJobs()).toHaveLength(jobsBefore + 1);
    expect(pullsFor('fix/SHOP-2')).toHaveLength(1);
  });

  it('a second delivery about the same incident (a re-triggered alert) makes no second Job', async () => {
    const jobsBefore = pipeline.runnerJobs().length;
    const first = await accepted('datadog', datadogAlert('e2e-alert-2', { cycle: 'incident-2' }));
    const second = await accepted(
      'datadog',
      datadogAlert('e2e-alert-3', { cycle: 'incident-2', transition: 'Re-Triggered' }),
    );
    expect(second).not.toBe(first);
    await pipeline.orchestrator.waitForLine(
      (line) => line.task_id === second && line.msg === 'duplicate task skipped',
      {
        what: 'the second delivery to be skipped',
      },
    );
    const run = await finishedRun(first);
    expect(pipeline.job(second)).toBeUndefined();
    expect(pipeline.runnerJobs()).toHaveLength(jobsBefore + 1);
    const result = RunnerResult.parse(JSON.parse(run.terminationMessage ?? ''));
    expect(pullsFor(result.branch)).toHaveLength(1);
  });
});
