import { fileURLToPath } from 'node:url';
import { FakeKubernetes, kubernetesStatusFault, waitFor } from '@anton/testing';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sameImageEverywhere } from '../../test/images.ts';
import { makeTask } from '../../test/tasks.ts';
import { Capacity } from '../capacity.ts';
import { JobRenderer } from '../render-job.ts';
import { DEFAULT_BUDGET } from '../task-budget.ts';
import { createKubernetesApi, loadKubeConfig } from './client-node-api.ts';
import type { JobInformer, KubernetesApi } from './kubernetes-api.ts';
import { trackRunnerJobs } from './runner-job-tracker.ts';

const templatesDir = fileURLToPath(new URL('../../templates', import.meta.url));
let fake: FakeKubernetes;
let api: KubernetesApi;
let informer: JobInformer;
let renderer: JobRenderer;

beforeEach(async () => {
  fake = await FakeKubernetes.start();
  api = createKubernetesApi(loadKubeConfig(fake.kubeconfigPath), 'agents', pino({ level: 'silent' }));
  renderer = await JobRenderer.load(templatesDir);
  informer = api.watchJobs('app=anton-runner');
});
afterEach(async () => {
  await informer.stop();
  await fake.close();
});

async function createJob(): Promise<{ name: string; taskId: string }> {
  const task = makeTask();
  const job = renderer.render(
    {
      task,
      templateId: 'general-research',
      complexity: 'low',
      routedBy: 'rules',
      repositoryUrl: 'https://github.com/acme/x',
      dedupHash: 'd'.repeat(63),
    },
    { namespace: 'agents', images: sameImageEverywhere('r:1'), upstreams: {}, budget: DEFAULT_BUDGET },
  );
  await api.createJob(job);
  return { name: `agent-job-${task.task_id}`, taskId: task.task_id };
}

describe('the runner Job watch', () => {
  it('feeds the capacity from the watch: a Job counts from its creation until it ends', async () => {
    const capacity = new Capacity(3);
    trackRunnerJobs(informer, { capacity });
    const before = await createJob(); // listed at start
    await informer.start();
    expect(informer.synced).toBe(true);
    expect(capacity.used).toBe(1);

    const second = await createJob(); // seen through the watch
    await waitFor(() => capacity.used === 2, { what: 'the watch to see the second Job' });

    await fake.settled();
    fake.setJobPhase('agents', before.name, 'succeeded');
    fake.setJobPhase('agents', second.name, 'failed', { exitCode: 2 }); // podFailurePolicy: FailJob
    await waitFor(() => capacity.used === 0, { what: 'both Jobs to finish' });

    await createJob();
    await waitFor(() => capacity.used === 1, { what: 'the third Job' });
  });

  it('resumes after the watch is cut, and relists when its resourceVersion expired', async () => {
    const capacity = new Capacity(5);
    trackRunnerJobs(informer, { capacity });
    await informer.start();
    const first = await createJob();
    await waitFor(() => capacity.used === 1, { what: 'the first Job' });

    fake.dropWatches();
    await createJob();
    await waitFor(() => capacity.used === 2, { what: 'a Job created while the watch was cut' });

    fake.compact();
    fake.dropWatches();
    await fake.settled();
    fake.setJobPhase('agents', first.name, 'succeeded');
    await waitFor(() => capacity.used === 1, { what: 'the change after a relist' });
  });

  it('keeps trying when the first list fails, and is not synced meanwhile', async () => {
    fake.inject(kubernetesStatusFault(503, 'ServiceUnavailable', 'starting'), {
      times: 1,
      method: 'GET',
      path: '/apis/batch/v1/namespaces/agents/jobs',
    });
    await informer.start();
    expect(informer.synced).toBe(false);
    await waitFor(() => informer.synced, { what: 'the informer to recover', timeoutMs: 10_000 });
  });
});
