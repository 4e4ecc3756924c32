import { fileURLToPath } from 'node:url';
import type { RouterPlan } from '@anton/contracts';
import { FakeKubernetes, kubernetesStatusFault } from '@anton/testing';
import { BatchV1Api } from '@kubernetes/client-node';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sameImageEverywhere } from '../../test/images.ts';
import { makeTask } from '../../test/tasks.ts';
import { PermanentError, RetryableError } from '../errors.ts';
import { createKubernetesApi, loadKubeConfig } from '../kubernetes/client-node-api.ts';
import { JobRenderer } from '../render-job.ts';
import { DEFAULT_BUDGET } from '../task-budget.ts';
import type { DispatchRequest } from './dispatcher.ts';
import { KubernetesDispatcher } from './kubernetes-dispatcher.ts';

const logger = pino({ level: 'silent' });
const templatesDir = fileURLToPath(new URL('../../templates', import.meta.url));
const plan: RouterPlan = {
  template_id: 'python-backend',
  complexity: 'medium',
  required_skills: [],
  context_summary: 'x',
};
const configMapsPath = '/api/v1/namespaces/agents/configmaps';

let fake: FakeKubernetes;
let dispatcher: KubernetesDispatcher;

beforeEach(async () => {
  fake = await FakeKubernetes.start();
  const api = createKubernetesApi(loadKubeConfig(fake.kubeconfigPath), 'agents', logger);
  dispatcher = new KubernetesDispatcher({
    api,
    renderer: await JobRenderer.load(templatesDir),
    settings: {
      namespace: 'agents',
      images: sameImageEverywhere('anton-runner:1'),
      upstreams: {},
      budget: DEFAULT_BUDGET,
    },
    retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 10 },
    logger,
  });
});
afterEach(() => fake.close());

const request = (): DispatchRequest => ({
  task: makeTask(),
  plan,
  routedBy: 'llm',
  dedupHash: 'b'.repeat(63),
  repository: { url: 'https://github.com/acme/orders.git', baseBranch: 'main', resolvedBy: 'jira-project' },
});

describe('KubernetesDispatcher', () => {
  it('creates the Job, then its ConfigMap owned by it', async () => {
    const req = request();
    expect(await dispatcher.dispatch(req, logger)).toEqual({
      runnerName: `agent-job-${req.task.task_id}`,
      created: true,
    });
    const [job] = fake.jobs('agents');
    const [configMap] = fake.configMaps('agents');
    expect(configMap?.metadata?.ownerReferences).toEqual([
      { apiVersion: 'batch/v1', kind: 'Job', name: job?.metadata?.name, uid: job?.metadata?.uid, controller: true },
    ]);
    expect(configMap?.metadata?.labels).toEqual(job?.metadata?.labels);
    expect(await dispatcher.status(req.task.task_id)).toBe('active');
    expect(await dispatcher.status('00000000-0000-4000-8000-000000000000')).toBe('missing');
  });

  it('refuses a task whose context cannot be written before creating anything', async () => {
    // A payload no ingester lets through, from another publisher: JSON.stringify overflows on it.
    const deep = JSON.parse(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`);
    const req = { ...request(), task: makeTask({ raw_payload: { deep } }) };
    await expect(dispatcher.dispatch(req, logger)).rejects.toThrow(PermanentError);
    expect(fake.jobs('agents')).toEqual([]);
    expect(fake.configMaps('agents')).toEqual([]);
  });

  it('reads a finished runner by the outcome recorded on its Job: only a failure lets the incident retry', async () => {
    const api = createKubernetesApi(loadKubeConfig(fake.kubeconfigPath), 'agents', logger);
    const statusWith = async (result: string) => {
      const req = request();
      await dispatcher.dispatch(req, logger);
      await fake.settled();
      const name = `agent-job-${req.task.task_id}`;
      fake.setJobPhase('agents', name, 'failed', { exitCode: 2 });
      await fake.settled();
      expect(await dispatcher.status(req.task.task_id)).toBe('active'); // ended, outcome not yet recorded
      const job = await api.readJob(name);
      await api.patchJobMetadata(name, {
        resourceVersion: job?.metadata?.resourceVersion ?? '',
        labels: { 'anton.dev/result': result },
      });
      return dispatcher.status(req.task.task_id);
    };
    expect(await statusWith('failed')).toBe('failed');
    for (const result of ['pr_opened', 'no_changes', 'rejected', 'timed_out'])
      expect(await statusWith(result)).toBe('done');
  });

  it('finishes a dispatch cut off between the Job and its ConfigMap, without a second Job', async () => {
    const req = request();
    fake.inject(kubernetesStatusFault(503, 'ServiceUnavailable', 'down'), {
      times: 2,
      method: 'POST',
      path: configMapsPath,
    });
    await expect(dispatcher.dispatch(req, logger)).rejects.toBeInstanceOf(RetryableError);
    expect(fake.jobs('agents')).toHaveLength(1);
    expect(fake.configMaps('agents')).toHaveLength(0);

    // The redelivered task: 409 for the Job, its uid read back, the ConfigMap created owned by it.
    expect(await dispatcher.dispatch(req, logger)).toMatchObject({ created: false });
    const [job] = fake.jobs('agents');
    expect(fake.jobs('agents')).toHaveLength(1);
    expect(fake.configMaps('agents')[0]?.metadata?.ownerReferences?.[0]?.uid).toBe(job?.metadata?.uid);
  });

  it('takes a ConfigMap that already exists as done (a redelivery after a full dispatch)', async () => {
    const req = request();
    await dispatcher.dispatch(req, logger);
    expect(await dispatcher.dispatch(req, logger)).toMatchObject({ created: false });
    expect(fake.jobs('agents')).toHaveLength(1);
    expect(fake.configMaps('agents')).toHaveLength(1);
  });

  it('deletes the ConfigMap with its Job (owner reference cascade)', async () => {
    const req = request();
    await dispatcher.dispatch(req, logger);
    const name = `agent-job-${req.task.task_id}`;
    await loadKubeConfig(fake.kubeconfigPath)
      .makeApiClient(BatchV1Api)
      .deleteNamespacedJob({ name, namespace: 'agents', propagationPolicy: 'Background' });
    await fake.settled();
    expect(fake.configMaps('agents')).toHaveLength(0);
  });

  it('calls an invalid object permanent and an unavailable API retryable', async () => {
    fake.inject(kubernetesStatusFault(422, 'Invalid', 'spec.template: Invalid value'), { method: 'POST' });
    await expect(dispatcher.dispatch(request(), logger)).rejects.toBeInstanceOf(PermanentError);
    fake.inject({ kind: 'drop' }, { times: 2, method: 'POST' });
    await expect(dispatcher.dispatch(request(), logger)).rejects.toThrow(/Kubernetes API unreachable/);
  });
});
