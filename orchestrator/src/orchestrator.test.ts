import { DEAD_LETTER_QUEUE, HEADERS, type RouterPlan, RunnerContext } from '@anton/contracts';
import { kubernetesStatusFault, waitFor } from '@anton/testing';
import type { V1Container, V1JobSpec, V1PodSpec } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentEnv } from '../test/agent-env.ts';
import { Pipeline } from '../test/pipeline.ts';
import { makeTask } from '../test/tasks.ts';
import { dedupHash } from './dedup.ts';

const pipeline = new Pipeline();
beforeAll(() => pipeline.setUp('orchestrator-pipeline'));
afterAll(() => pipeline.tearDown());
beforeEach(() => pipeline.beforeEach());
afterEach(() => pipeline.afterEach());

const plan: RouterPlan = {
  template_id: 'java-backend',
  complexity: 'high',
  required_skills: ['java'],
  context_summary: 'OrderService.total dereferences a null discount.',
};
const routeReply = { content: [{ type: 'tool_use' as const, name: 'route_task', input: plan }] };
const jobs = () => pipeline.kubernetes.jobs('agents');
const contextMaps = () =>
  pipeline.kubernetes.configMaps('agents').filter((cm) => cm.metadata?.name?.startsWith('agent-ctx-'));
const jobsPath = '/apis/batch/v1/namespaces/agents/jobs';
const claimPosts = () => pipeline.kubernetes.received('/api/v1/namespaces/agents/configmaps', 'POST').length;
const metricsText = async () => (await fetch(`${pipeline.orchestrator?.healthUrl}/metrics`)).text();

describe('orchestrator: AgentTask in, Job out (real broker, FakeKubernetes, FakeAnthropic)', () => {
  it('turns a published task into exactly one ConfigMap and one Job, every field as designed', async () => {
    pipeline.anthropic.setHandler(() => routeReply);
    await pipeline.start();
    const task = makeTask({ priority: 'P1' });
    await pipeline.broker.publish(task, {}, task.task_id);
    await waitFor(() => contextMaps().length === 1, { what: 'the ConfigMap' });
    await pipeline.kubernetes.settled();

    expect(jobs()).toHaveLength(1);
    const [job] = jobs();
    const name = `agent-job-${task.task_id}`;
    const labels = {
      app: 'anton-runner',
      'task-id': task.task_id,
      template: 'java-backend',
      'app.kubernetes.io/name': 'anton-runner',
      'app.kubernetes.io/managed-by': 'anton-orchestrator',
      'anton.dev/source': 'jira',
      'anton.dev/priority': 'P1',
      'anton.dev/complexity': 'high',
      'anton.dev/dedup-hash': dedupHash(task),
    };
    expect(job?.metadata).toMatchObject({
      name,
      namespace: 'agents',
      labels,
      annotations: {
        'anton.dev/external-id': 'ORD-42',
        'anton.dev/title': task.title,
        'anton.dev/repository': 'https://github.com/acme/orders.git',
        'anton.dev/url': task.url,
        'anton.dev/routed-by': 'llm',
      },
    });
    const spec = job?.spec as unknown as V1JobSpec;
    expect(spec).toMatchObject({ ttlSecondsAfterFinished: 600, backoffLimit: 2, activeDeadlineSeconds: 3600 });
    expect(spec.podFailurePolicy?.rules[0]).toEqual({
      action: 'FailJob',
      onExitCodes: { containerName: 'agent', operator: 'In', values: [2] },
    });
    expect(spec.template.metadata?.labels).toMatchObject(labels);
    const pod = spec.template.spec as V1PodSpec;
    expect(pod).toMatchObject({
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10001,
        fsGroup: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      },
    });
    const agent = pod.containers[0] as V1Container;
    expect(agent.name).toBe('agent');
    expect(agent.env).toEqual([
      ...agentEnv(task.task_id, 'java-backend', 'high'),
      { name: 'JAVA_TOOL_OPTIONS', value: expect.any(String) },
    ]);
    expect(agent.volumeMounts).toContainEqual({ name: 'context', mountPath: '/app/context', readOnly: true });
    expect(agent.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const proxy = pod.initContainers?.[0];
    expect(proxy).toMatchObject({ name: 'credential-proxy', restartPolicy: 'Always' });
    expect(proxy?.env?.filter((e) => e.valueFrom)).toEqual([
      { name: 'ANTHROPIC_API_KEY', valueFrom: { secretKeyRef: { name: 'anton-secrets', key: 'anthropic-api-key' } } },
      { name: 'OPENAI_API_KEY', valueFrom: { secretKeyRef: { name: 'anton-secrets', key: 'openai-api-key' } } },
      { name: 'GITHUB_TOKEN', valueFrom: { secretKeyRef: { name: 'anton-secrets', key: 'github-token' } } },
    ]);
    expect(pod.volumes).toContainEqual({
      name: 'context',
      configMap: { name: `agent-ctx-${task.task_id}`, defaultMode: 420 }, // the API server's default
    });

    const [configMap] = contextMaps();
    expect(configMap?.metadata?.name).toBe(`agent-ctx-${task.task_id}`);
    expect(configMap?.metadata?.ownerReferences).toEqual([
      { apiVersion: 'batch/v1', kind: 'Job', name, uid: job?.metadata?.uid, controller: true },
    ]);
    const data = configMap?.data as Record<string, string> | undefined;
    const context = RunnerContext.parse(JSON.parse(data?.['task.json'] ?? ''));
    expect(context).toEqual({
      repo_url: 'https://github.com/acme/orders.git',
      base_branch: 'develop',
      task_description: `${task.title}\n\n${task.description}\n\nLink: ${task.url}`,
      issue_id: 'ORD-42',
      task,
      plan,
      routed_by: 'llm',
      instructions: 'Run mvn -q test before submitting.',
    });
    expect(pipeline.anthropic.received('/v1/messages', 'POST')).toHaveLength(1);
  });

  it('makes no second Job when the task is delivered again', async () => {
    pipeline.anthropic.setHandler(() => routeReply);
    await pipeline.start();
    const task = makeTask();
    await pipeline.broker.publish(task);
    await waitFor(() => contextMaps().length === 1, { what: 'the first dispatch' });
    await pipeline.broker.publish(task);
    await pipeline.broker.publish(makeTask({ external_id: 'ORD-43' })); // a marker: processed after the redelivery
    await waitFor(() => contextMaps().length === 2, { what: 'the marker task' });
    expect(
      jobs()
        .map((j) => j.metadata?.labels?.['task-id'])
        .filter((id) => id === task.task_id),
    ).toHaveLength(1);
    expect((await pipeline.broker.count(DEAD_LETTER_QUEUE)).messageCount).toBe(0);
  });

  it('makes one Job and at most one routing call for ten tasks about one incident', async () => {
    pipeline.anthropic.setHandler(() => routeReply);
    await pipeline.start();
    const tasks = Array.from({ length: 10 }, (_, i) => makeTask({ dedup_key: 'jira:10042', title: `update ${i}` }));
    for (const task of tasks) await pipeline.broker.publish(task);
    await pipeline.broker.publish(makeTask({ external_id: 'ORD-99' }));
    await waitFor(() => jobs().length === 2, { what: 'the incident Job and the marker Job' });
    const incident = jobs().filter(
      (j) => j.metadata?.labels?.['anton.dev/dedup-hash'] === dedupHash(tasks[0] ?? makeTask()),
    );
    expect(incident).toHaveLength(1);
    expect(incident[0]?.metadata?.labels?.['task-id']).toBe(tasks[0]?.task_id);
    expect(pipeline.anthropic.received('/v1/messages', 'POST')).toHaveLength(2); // incident + marker
  });

  it('lets a new event about an incident through once its Job failed', async () => {
    pipeline.anthropic.setHandler(() => routeReply);
    await pipeline.start();
    const first = makeTask({ dedup_key: 'datadog:monitor-7' });
    await pipeline.broker.publish(first);
    await waitFor(() => contextMaps().length === 1, { what: 'the first Job' });
    await pipeline.broker.publish(makeTask({ dedup_key: 'datadog:monitor-7' }));
    await waitFor(
      async () => (await metricsText()).includes('anton_orchestrator_tasks_deduplicated_total{source="jira"} 1'),
      {
        what: 'the second delivery to be skipped',
      },
    );
    await pipeline.kubernetes.settled();
    pipeline.kubernetes.setJobPhase('agents', `agent-job-${first.task_id}`, 'failed', { exitCode: 2 });
    const claims = () =>
      pipeline.kubernetes.configMaps('agents').filter((cm) => cm.metadata?.name?.startsWith('anton-dedup-'));
    await waitFor(() => claims().length === 0, { what: 'the claim to be released' });
    expect(jobs()).toHaveLength(1);

    const retry = makeTask({ dedup_key: 'datadog:monitor-7' });
    await pipeline.broker.publish(retry);
    await waitFor(() => jobs().length === 2, { what: 'a Job for the new event' });
    expect((claims()[0]?.data as Record<string, string> | undefined)?.['task-id']).toBe(retry.task_id);
  });

  it('routes by rules when Claude stays overloaded, and says so on the Job', async () => {
    pipeline.anthropic.inject(
      {
        kind: 'status',
        status: 529,
        headers: { 'retry-after-ms': '5' },
        body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      },
      { times: 100 },
    );
    await pipeline.start({ ROUTER_MAX_RETRIES: '2' });
    await pipeline.broker.publish(makeTask({ priority: 'P4' }));
    await waitFor(() => jobs().length === 1, { what: 'the Job' });
    const [job] = jobs();
    expect(job?.metadata?.annotations?.['anton.dev/routed-by']).toBe('rules');
    expect(job?.metadata?.labels).toMatchObject({ template: 'java-backend', 'anton.dev/complexity': 'low' });
    expect(pipeline.anthropic.received('/v1/messages', 'POST')).toHaveLength(3);
  });

  it('retries Kubernetes 429s (Retry-After) within an attempt and creates the Job', async () => {
    pipeline.anthropic.setHandler(() => routeReply);
    pipeline.kubernetes.inject(kubernetesStatusFault(429, 'TooManyRequests', 'slow down', 0), {
      times: 2,
      method: 'POST',
      path: jobsPath,
    });
    await pipeline.start();
    await pipeline.broker.publish(makeTask());
    await waitFor(() => contextMaps().length === 1, { what: 'the ConfigMap' });
    expect(jobs()).toHaveLength(1);
    expect(pipeline.kubernetes.received(jobsPath, 'POST')).toHaveLength(3);
  });

  it('dead-letters with the reason when Kubernetes keeps failing with 500', async () => {
    pipeline.anthropic.setHandler(() => routeReply);
    pipeline.kubernetes.inject(kubernetesStatusFault(500, 'InternalError', 'etcdserver: request timed out'), {
      times: 1000,
      method: 'POST',
      path: jobsPath,
    });
    await pipeline.start();
    const task = makeTask();
    await pipeline.broker.publish(task);
    await waitFor(async () => (await pipeline.broker.count(DEAD_LETTER_QUEUE)).messageCount === 1, {
      what: 'the dead letter',
      timeoutMs: 20_000,
    });
    const [dead] = await pipeline.broker.drain(DEAD_LETTER_QUEUE);
    expect(JSON.parse(dead?.content.toString() ?? '')).toEqual(task);
    expect(dead?.properties.headers?.[HEADERS.deadLetterReason]).toMatch(
      /^gave up after 3 attempts: cannot create the Job: Kubernetes API 500 InternalError: etcdserver: request timed out$/,
    );
    expect(pipeline.kubernetes.received(jobsPath, 'POST')).toHaveLength(9); // 3 attempts × (1 + 2 retries)
    expect(jobs()).toHaveLength(0);
    // The claim was released: the incident may be tried again.
    expect(pipeline.kubernetes.configMaps('agents')).toHaveLength(0);
  });

  it('rides out a Kubernetes API refusing every create for longer than the immediate retries: one Job', async () => {
    pipeline.anthropic.setHandler(() => routeReply);
    // Every create (the claim, the Job, its ConfigMap) refused: 3 attempts without waits end in a second.
    pipeline.kubernetes.inject(kubernetesStatusFault(503, 'ServiceUnavailable', 'the server is restarting'), {
      times: 100_000,
      method: 'POST',
    });
    await pipeline.start({ RETRY_DELAYS: '1s,2s' });
    const task = makeTask();
    await pipeline.broker.publish(task);
    await waitFor(() => pipeline.kubernetes.received(jobsPath, 'POST').length + claimPosts() > 0, {
      what: 'the first refused create',
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    pipeline.kubernetes.clearFaults();
    await waitFor(() => contextMaps().length === 1, { what: 'the ConfigMap once the API is back', timeoutMs: 20_000 });
    expect(jobs()).toHaveLength(1);
    expect((await pipeline.broker.count(DEAD_LETTER_QUEUE)).messageCount).toBe(0);
  });

  it('sends a task with no repository to the DLQ with that reason', async () => {
    await pipeline.start();
    await pipeline.broker.publish(makeTask({ labels: { project: 'NOPE' }, external_id: 'NOPE-1' }));
    await waitFor(async () => (await pipeline.broker.count(DEAD_LETTER_QUEUE)).messageCount === 1, {
      what: 'the dead letter',
    });
    const [dead] = await pipeline.broker.drain(DEAD_LETTER_QUEUE);
    expect(dead?.properties.headers?.[HEADERS.deadLetterReason]).toMatch(/^no repository/);
    expect(pipeline.anthropic.received('/v1/messages')).toHaveLength(0);
  });

  it('keeps hostile titles out of the manifest: the Job is the same but for ids and annotations', async () => {
    pipeline.anthropic.setHandler(() => routeReply);
    await pipeline.start();
    const hostile =
      'x"\nspec:\n  template: {{ 7*7 }} {% raw %}{% endraw %}\n    hostNetwork: true\n  - name: evil\n"; \'$(id)\' ]]} #';
    const evil = makeTask({ title: hostile, description: hostile, url: hostile, external_id: 'ORD-666' });
    const plain = makeTask({ external_id: 'ORD-667' });
    await pipeline.broker.publish(evil);
    await pipeline.broker.publish(plain);
    await waitFor(() => jobs().length === 2, { what: 'both Jobs' });
    const byTask = (id: string) => jobs().find((j) => j.metadata?.labels?.['task-id'] === id);
    const normalized = (id: string, hash: string) =>
      JSON.stringify(byTask(id)?.spec)
        .replaceAll(id, 'TASK')
        .replaceAll(hash, 'HASH')
        .replaceAll(String(byTask(id)?.metadata?.uid), 'UID');
    expect(normalized(evil.task_id, dedupHash(evil))).toBe(normalized(plain.task_id, dedupHash(plain)));
    expect(byTask(evil.task_id)?.metadata?.annotations?.['anton.dev/title']).toBe(hostile);
    expect(JSON.stringify(byTask(evil.task_id)?.spec)).not.toContain('evil');
  });

  it('holds the next task at MAX_ACTIVE_JOBS and starts it when a Job finishes', async () => {
    pipeline.anthropic.setHandler(() => routeReply);
    await pipeline.start({ MAX_ACTIVE_JOBS: '1' });
    const first = makeTask({ external_id: 'ORD-1' });
    const second = makeTask({ external_id: 'ORD-2' });
    await pipeline.broker.publish(first);
    await waitFor(() => contextMaps().length === 1, { what: 'the first Job' });
    await pipeline.broker.publish(second);
    await waitFor(async () => (await metricsText()).includes('capacity_waits_total 1'), {
      what: 'the second task to wait',
    });
    expect(jobs()).toHaveLength(1);
    expect((await pipeline.broker.count('orchestrator_queue')).messageCount).toBe(0); // held, unacked

    await pipeline.kubernetes.settled();
    pipeline.kubernetes.setJobPhase('agents', `agent-job-${first.task_id}`, 'succeeded');
    await waitFor(() => jobs().length === 2, { what: 'the second Job' });
    expect(jobs().map((j) => j.metadata?.labels?.['task-id'])).toContain(second.task_id);
  });
});
