import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../wait-for.ts';
import { FakeKubernetes, type FakeKubernetesOptions } from './fake-kubernetes.ts';
import { runnerJob } from './runner-job-manifest.ts';
import { clientsFor } from './test-clients.ts';

const ns = 'agents';
let fake: FakeKubernetes;

afterEach(async () => {
  await fake?.close();
});

async function start(options: FakeKubernetesOptions = {}) {
  fake = await FakeKubernetes.start(options);
  return clientsFor(fake);
}

async function runJob(id: string, edit: (job: V1Job) => void = () => undefined) {
  const clients = await start();
  const body = runnerJob(id);
  edit(body);
  await clients.batch.createNamespacedJob({ namespace: ns, body });
  await fake.settled();
  return clients;
}

const conditions = (job: V1Job) => (job.status?.conditions ?? []).map((c) => `${c.type}:${c.reason}`);
const podsOf = async (clients: ReturnType<typeof clientsFor>, job: string) =>
  (await clients.core.listNamespacedPod({ namespace: ns, labelSelector: `batch.kubernetes.io/job-name=${job}` })).items;
const agentState = (pod: V1Pod | undefined) => pod?.status?.containerStatuses?.find((c) => c.name === 'agent')?.state;

describe('the scripted Job lifecycle', () => {
  it('runs one pod for a new Job: labelled, owned by the Job, Running; the Job counts it active', async () => {
    const clients = await runJob('a');
    const job = await clients.batch.readNamespacedJob({ namespace: ns, name: 'agent-job-a' });
    expect(job.status).toMatchObject({ active: 1, ready: 1 });
    expect(job.status?.startTime).toBeInstanceOf(Date);
    const [pod, ...others] = await podsOf(clients, 'agent-job-a');
    expect(others).toEqual([]);
    expect(pod?.metadata?.name).toMatch(/^agent-job-a-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(pod?.metadata?.labels).toMatchObject({
      'job-name': 'agent-job-a',
      'controller-uid': job.metadata?.uid,
      'batch.kubernetes.io/controller-uid': job.metadata?.uid,
      app: 'anton-runner',
      'task-id': 'a',
    });
    expect(pod?.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Job', uid: job.metadata?.uid, controller: true, blockOwnerDeletion: true }),
    ]);
    expect(pod?.status?.phase).toBe('Running');
    expect(pod?.status?.initContainerStatuses?.[0]).toMatchObject({ name: 'credential-proxy', started: true });
  });

  it('succeeds: the pod ends with the termination message, the Job gets SuccessCriteriaMet then Complete', async () => {
    const clients = await runJob('s');
    const { job, pod } = fake.setJobPhase(ns, 'agent-job-s', 'succeeded', {
      terminationMessage: '{"status":"pr_opened"}',
    });
    expect(job.status).toMatchObject({ succeeded: 1, ready: 0 });
    expect((job.status as { active?: number }).active).toBeUndefined();
    const read = await clients.batch.readNamespacedJob({ namespace: ns, name: 'agent-job-s' });
    expect(conditions(read)).toEqual(['SuccessCriteriaMet:CompletionsReached', 'Complete:CompletionsReached']);
    expect(read.status?.completionTime).toBeInstanceOf(Date);
    const [readPod] = await podsOf(clients, 'agent-job-s');
    expect(readPod?.metadata?.name).toBe(pod.metadata.name);
    expect(readPod?.status?.phase).toBe('Succeeded');
    expect(agentState(readPod)?.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
      message: '{"status":"pr_opened"}',
    });
    expect(readPod?.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    expect(readPod?.metadata?.finalizers ?? []).toEqual([]);
    expect(() => fake.setJobPhase(ns, 'agent-job-s', 'failed')).toThrow('already finished');
  });

  it('fails at once when the podFailurePolicy matches (exit code 2 of agent)', async () => {
    const clients = await runJob('f');
    fake.setJobPhase(ns, 'agent-job-f', 'failed', { exitCode: 2, terminationMessage: '{"status":"rejected"}' });
    const job = await clients.batch.readNamespacedJob({ namespace: ns, name: 'agent-job-f' });
    expect(conditions(job)).toEqual(['FailureTarget:PodFailurePolicy', 'Failed:PodFailurePolicy']);
    const [pod, ...others] = await podsOf(clients, 'agent-job-f');
    expect(others).toEqual([]);
    expect(job.status?.conditions?.[1]?.message).toBe(
      `Container agent for pod ${ns}/${pod?.metadata?.name} failed with exit code 2 matching FailJob rule at index 0`,
    );
    expect(job.status?.failed).toBe(1);
    expect(pod?.status?.phase).toBe('Failed');
    expect(agentState(pod)?.terminated).toMatchObject({
      exitCode: 2,
      reason: 'Error',
      message: '{"status":"rejected"}',
    });
  });

  it('replaces a failed pod until backoffLimit is exceeded, then fails with BackoffLimitExceeded', async () => {
    const clients = await runJob('b');
    const first = fake.setJobPhase(ns, 'agent-job-b', 'failed', { exitCode: 1 });
    expect(first.job.status).toMatchObject({ failed: 1, active: 1 });
    expect(conditions(first.job as V1Job)).toEqual([]);
    fake.setJobPhase(ns, 'agent-job-b', 'failed', { exitCode: 1, reason: 'OOMKilled' });
    const last = fake.setJobPhase(ns, 'agent-job-b', 'failed', { exitCode: 137 });
    expect(last.job.status).toMatchObject({ failed: 3 });
    const job = await clients.batch.readNamespacedJob({ namespace: ns, name: 'agent-job-b' });
    expect(conditions(job)).toEqual(['FailureTarget:BackoffLimitExceeded', 'Failed:BackoffLimitExceeded']);
    const pods = await podsOf(clients, 'agent-job-b');
    expect(pods.map((p) => p.status?.phase)).toEqual(['Failed', 'Failed', 'Failed']);
    expect(pods.map((p) => agentState(p)?.terminated?.reason).sort()).toEqual(['Error', 'Error', 'OOMKilled']);
  });

  it('restarts the container in place under restartPolicy OnFailure, counting restarts towards backoffLimit', async () => {
    const clients = await runJob('o', (job) => {
      if (!job.spec) return;
      delete job.spec.podFailurePolicy;
      job.spec.backoffLimit = 1;
      if (job.spec.template.spec) job.spec.template.spec.restartPolicy = 'OnFailure';
    });
    const { pod } = fake.setJobPhase(ns, 'agent-job-o', 'failed');
    const restarted = (pod.status as V1Pod['status'])?.containerStatuses?.find((c) => c.name === 'agent');
    expect(restarted).toMatchObject({
      restartCount: 1,
      state: { running: {} },
      lastState: { terminated: { exitCode: 1 } },
    });
    fake.setJobPhase(ns, 'agent-job-o', 'failed');
    const job = await clients.batch.readNamespacedJob({ namespace: ns, name: 'agent-job-o' });
    expect(conditions(job)).toEqual(['FailureTarget:BackoffLimitExceeded', 'Failed:BackoffLimitExceeded']);
    await waitFor(async () => (await podsOf(clients, 'agent-job-o')).length === 0, { what: 'the running pod deleted' });
  });

  it('fails with DeadlineExceeded when the deadline runs out, stopping the running pod', async () => {
    const clients = await runJob('d');
    const job = fake.exceedJobDeadline(ns, 'agent-job-d');
    expect(conditions(job as V1Job)).toEqual(['FailureTarget:DeadlineExceeded', 'Failed:DeadlineExceeded']);
    await waitFor(async () => (await podsOf(clients, 'agent-job-d')).length === 0, { what: 'the pod deleted' });
  });

  it('deletes a finished Job and its pods after ttlSecondsAfterFinished', async () => {
    await runJob('ttl', (job) => {
      if (job.spec) job.spec.ttlSecondsAfterFinished = 0;
    });
    fake.setJobPhase(ns, 'agent-job-ttl', 'succeeded');
    await waitFor(() => fake.jobs(ns).length === 0 && fake.pods(ns).length === 0, { what: 'the TTL controller' });
  });

  it('completes Jobs by itself with autoComplete, per Job when given a function', async () => {
    const clients = await start({
      autoComplete: (job) =>
        job.metadata.labels?.['task-id'] === 'auto-fail'
          ? { phase: 'failed', exitCode: 2, terminationMessage: '{"status":"no_changes"}' }
          : { phase: 'succeeded', terminationMessage: '{"status":"pr_opened"}' },
    });
    await clients.batch.createNamespacedJob({ namespace: ns, body: runnerJob('auto-ok') });
    await clients.batch.createNamespacedJob({ namespace: ns, body: runnerJob('auto-fail') });
    const finished = async (name: string) =>
      conditions(await clients.batch.readNamespacedJob({ namespace: ns, name })).find((c) =>
        /^(Complete|Failed):/.test(c),
      );
    await waitFor(async () => (await finished('agent-job-auto-ok')) && (await finished('agent-job-auto-fail')), {
      what: 'both Jobs finished',
    });
    expect(await finished('agent-job-auto-ok')).toBe('Complete:CompletionsReached');
    expect(await finished('agent-job-auto-fail')).toBe('Failed:PodFailurePolicy');
    const [pod] = await podsOf(clients, 'agent-job-auto-fail');
    expect(agentState(pod)?.terminated?.message).toBe('{"status":"no_changes"}');
  });

  it('refuses to script a Job that does not exist', async () => {
    await start();
    expect(() => fake.setJobPhase(ns, 'nope', 'succeeded')).toThrow('no Job agents/nope');
  });
});
