import { FakeKubernetes, kubernetesStatusFault, waitFor } from '@anton/testing';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunnerJobs } from '../../test/runner-jobs.ts';
import { prOpenedOutcome, terminationMessage } from '../../test/runner-results.ts';
import { createKubernetesApi, loadKubeConfig } from '../kubernetes/client-node-api.ts';
import type { KubernetesApi } from '../kubernetes/kubernetes-api.ts';
import type { FinishedTask } from './finished-task.ts';
import { JobOutcomeWatcher, type OutcomeSink } from './job-outcome-watcher.ts';

const logger = pino({ level: 'silent' });
const policy = { retries: 1, baseDelayMs: 1, maxDelayMs: 10 };
let fake: FakeKubernetes;
let api: KubernetesApi;
let jobs: RunnerJobs;
const watchers: JobOutcomeWatcher[] = [];
const informers: Array<{ stop(): Promise<void> }> = [];

beforeEach(async () => {
  fake = await FakeKubernetes.start();
  api = createKubernetesApi(loadKubeConfig(fake.kubeconfigPath), 'agents', logger);
  jobs = await RunnerJobs.create(fake, api, logger);
});
afterEach(async () => {
  for (const watcher of watchers.splice(0)) await watcher.stop();
  for (const informer of informers.splice(0)) await informer.stop();
  await fake.close();
});

interface WatcherOptions {
  /** How a publish ends (default: confirmed at once). */
  publish?: (finished: FinishedTask) => Promise<void>;
}

/**
 * An orchestrator's watcher on its own connection to the cluster. What it hands over (publishes)
 * lands in `reported`, what it then recorded on the Job as its own in `recorded`.
 */
async function startWatcher(_name: string, reported: FinishedTask[] = [], options: WatcherOptions = {}) {
  const ownApi = createKubernetesApi(loadKubeConfig(fake.kubeconfigPath), 'agents', logger);
  const informer = ownApi.watchJobs('app=anton-runner');
  const recorded: FinishedTask[] = [];
  const sink: OutcomeSink = {
    publish: async (finished) => {
      await options.publish?.(finished);
      reported.push(finished);
    },
    recorded: (finished) => recorded.push(finished),
  };
  const watcher = new JobOutcomeWatcher({ api: ownApi, informer, policy, logger, sink, retryDelayMs: 50 });
  watcher.start();
  await informer.start();
  watchers.push(watcher);
  informers.push(informer);
  return { reported, recorded, watcher, informer };
}

const job = (name: string) => fake.get('Job', 'agents', name);
const ids = (reported: FinishedTask[]) => reported.map((f) => f.outcome.task_id).sort();

describe('JobOutcomeWatcher', () => {
  it('records a succeeded Job on the Job itself and reports its outcome once', async () => {
    const { reported } = await startWatcher('orchestrator-a');
    const { task, job: name } = await jobs.start({ labels: { project: 'ORD', team: 'payments' } });
    fake.setJobPhase('agents', name, 'succeeded', { terminationMessage: terminationMessage() });
    await waitFor(() => reported.length === 1, { what: 'the outcome' });

    const [finished] = reported;
    expect(finished?.outcome).toMatchObject(prOpenedOutcome(task));
    expect(finished).toMatchObject({ title: task.title, url: task.url, labels: { project: 'ORD', team: 'payments' } });
    await waitFor(() => job(name)?.metadata.labels?.['anton.dev/result'] === 'pr_opened', { what: 'the label' });
    expect(job(name)?.metadata.annotations).toMatchObject({
      'anton.dev/result': 'pr_opened',
      'anton.dev/pr-url': 'https://github.com/acme/orders/pull/7',
    });

    const other = await jobs.start({ external_id: 'ORD-43' }); // more watch events: no second report
    fake.setJobPhase('agents', other.job, 'succeeded', { terminationMessage: terminationMessage() });
    await waitFor(() => reported.length === 2, { what: 'the second outcome' });
    expect(ids(reported)).toEqual([task.task_id, other.task.task_id].sort());
  });

  it.each([
    {
      what: 'exit 2 with no_changes (the podFailurePolicy fails the Job): no_changes',
      end: { exitCode: 2, terminationMessage: terminationMessage({ status: 'no_changes', pr_url: undefined }) },
      expected: { status: 'no_changes' },
    },
    {
      what: 'exit 2 with an invalid context: failed, with the runner reason',
      end: {
        exitCode: 2,
        terminationMessage: terminationMessage({ status: 'failed', pr_url: undefined, reason: 'invalid task.json' }),
      },
      expected: { status: 'failed', reason: 'invalid task.json' },
    },
    {
      what: 'exit 2 and no termination message: failed, saying so',
      end: { exitCode: 2 },
      expected: { status: 'failed', reason: expect.stringMatching(/PodFailurePolicy.*left no result/) },
    },
    {
      what: 'a message that is not a result (the log tail): failed, quoting it',
      end: { exitCode: 2, terminationMessage: 'Error: Cannot find module /app/dist/main.js' },
      expected: { status: 'failed', reason: expect.stringContaining('not JSON: Error: Cannot find module') },
    },
  ])('decides $what', async ({ end, expected }) => {
    const { reported } = await startWatcher('orchestrator-a');
    const { job: name } = await jobs.start();
    fake.setJobPhase('agents', name, 'failed', end);
    await waitFor(() => reported.length === 1, { what: 'the outcome' });
    expect(reported[0]?.outcome).toMatchObject(expected);
    expect(reported[0]?.outcome.pr_url).toBeUndefined();
    await waitFor(() => job(name)?.metadata.labels?.['anton.dev/result'] === expected.status, { what: 'the label' });
  });

  it('takes the last pod of a Job that used its backoffLimit: failed, with that pod reason', async () => {
    const { reported } = await startWatcher('orchestrator-a');
    const { job: name } = await jobs.start();
    for (const reason of ['clone failed', 'push rejected', 'GitHub 502 on create PR']) {
      fake.setJobPhase('agents', name, 'failed', {
        exitCode: 1,
        terminationMessage: terminationMessage({ status: 'failed', pr_url: undefined, reason }),
      });
      await fake.settled();
    }
    await waitFor(() => reported.length === 1, { what: 'the outcome' });
    expect(reported[0]?.outcome).toMatchObject({ status: 'failed', reason: 'GitHub 502 on create PR' });
    expect(fake.pods('agents')).toHaveLength(3);
  });

  it('reports a Job stopped at its deadline as timed_out', async () => {
    const { reported } = await startWatcher('orchestrator-a');
    const { job: name } = await jobs.start();
    fake.exceedJobDeadline('agents', name);
    await waitFor(() => reported.length === 1, { what: 'the outcome' });
    expect(reported[0]?.outcome).toMatchObject({
      status: 'timed_out',
      reason: expect.stringContaining('DeadlineExceeded'),
    });
    await waitFor(() => job(name)?.metadata.labels?.['anton.dev/result'] === 'timed_out', { what: 'the label' });
  });

  it('misses no completion and reports none twice when the watch is cut and its history compacted', async () => {
    const { reported } = await startWatcher('orchestrator-a');
    const started = await Promise.all([1, 2, 3, 4].map((n) => jobs.start({ external_id: `ORD-${n}` })));
    const finish = (i: number) =>
      fake.setJobPhase('agents', started[i]?.job ?? '', 'succeeded', { terminationMessage: terminationMessage() });

    finish(0);
    await waitFor(() => reported.length === 1, { what: 'the first outcome' });
    fake.dropWatches();
    finish(1); // while the watch is cut: seen when it resumes from its resourceVersion
    await waitFor(() => reported.length === 2, { what: 'the outcome missed by the cut watch' });
    fake.compact();
    fake.dropWatches();
    finish(2); // the resourceVersion is too old now: 410, relist
    fake.endWatches();
    finish(3);
    await waitFor(() => reported.length === 4, { what: 'the outcomes after the relist' });
    fake.dropWatches();
    await waitFor(() => fake.openWatches > 0, { what: 'the watch to come back' });
    await jobs.start({ external_id: 'ORD-5' }); // an event after the reconnect: nothing is reported again
    await fake.settled();
    expect(ids(reported)).toEqual(started.map((s) => s.task.task_id).sort());
  });

  it('has two orchestrators on one cluster record each outcome once (both may publish it)', async () => {
    const reported: FinishedTask[] = [];
    const a = await startWatcher('orchestrator-a', reported);
    const b = await startWatcher('orchestrator-b', reported);
    const started = await Promise.all([1, 2, 3, 4, 5].map((n) => jobs.start({ external_id: `ORD-${n}` })));
    for (const { job: name, task } of started) {
      const message = terminationMessage({ branch: `fix/${task.external_id}` });
      fake.setJobPhase('agents', name, 'succeeded', { terminationMessage: message });
    }
    await waitFor(
      () => started.every(({ job: name }) => job(name)?.metadata.labels?.['anton.dev/result'] === 'pr_opened'),
      { what: 'every outcome recorded' },
    );
    await waitFor(() => a.recorded.length + b.recorded.length === 5, { what: 'five records' });
    expect(ids([...a.recorded, ...b.recorded])).toEqual(started.map((s) => s.task.task_id).sort());
    expect([...new Set(ids(reported))]).toEqual(started.map((s) => s.task.task_id).sort());
  });

  it('records nothing on the Job until the outcome was handed over, and tries again until it is', async () => {
    let refusals = 2;
    const { reported, recorded } = await startWatcher('orchestrator-a', [], {
      publish: async () => {
        if (refusals-- > 0) throw new Error('the broker is not connected');
      },
    });
    const { job: name } = await jobs.start();
    fake.setJobPhase('agents', name, 'succeeded', { terminationMessage: terminationMessage() });
    await waitFor(() => refusals < 0 || reported.length > 0, { what: 'the refused publishes' });
    await waitFor(() => recorded.length === 1, { what: 'the record once published' });
    expect(reported).toHaveLength(1);
    expect(job(name)?.metadata.labels?.['anton.dev/result']).toBe('pr_opened');
  });

  it('after a restart, reports the Jobs that finished meanwhile and not those already reported', async () => {
    const first = await startWatcher('orchestrator-a');
    const before = await jobs.start({ external_id: 'ORD-1' });
    fake.setJobPhase('agents', before.job, 'succeeded', { terminationMessage: terminationMessage() });
    await waitFor(() => first.reported.length === 1, { what: 'the first outcome' });
    await first.watcher.stop();
    await first.informer.stop();

    const during = await jobs.start({ external_id: 'ORD-2' });
    fake.setJobPhase('agents', during.job, 'failed', { exitCode: 2 });
    await fake.settled();
    const second = await startWatcher('orchestrator-a-restarted');
    await waitFor(() => second.reported.length === 1, { what: 'the outcome that finished while down' });
    expect(second.reported[0]?.outcome).toMatchObject({ task_id: during.task.task_id, status: 'failed' });
    expect(first.reported).toHaveLength(1);
  });

  it('tries again when the API refuses the write, until it lands', async () => {
    const { reported } = await startWatcher('orchestrator-a');
    const { job: name } = await jobs.start();
    fake.inject(kubernetesStatusFault(503, 'ServiceUnavailable', 'etcd leader changed'), {
      times: 4, // more than one attempt's retries
      method: 'PATCH',
      path: `/apis/batch/v1/namespaces/agents/jobs/${name}`,
    });
    fake.setJobPhase('agents', name, 'succeeded', { terminationMessage: terminationMessage() });
    await waitFor(() => job(name)?.metadata.labels?.['anton.dev/result'] === 'pr_opened', { what: 'the label' });
    // Four refused writes and the one that landed; handed over again with each new try (at least once).
    expect(fake.received(`/apis/batch/v1/namespaces/agents/jobs/${name}`, 'PATCH')).toHaveLength(5);
    expect(new Set(ids(reported)).size).toBe(1);
  });
});
