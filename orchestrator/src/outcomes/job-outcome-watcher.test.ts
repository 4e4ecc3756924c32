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
  /** How a delivery ends: the reporters it leaves owed (as a shutdown would). Default: all delivered at once. */
  deliver?: (
    finished: FinishedTask,
    only: ReadonlySet<string> | undefined,
    onDone: ((reporter: string) => void) | undefined,
  ) => Promise<string[]>;
  leaseMs?: number;
}

/**
 * An orchestrator's watcher on its own connection to the cluster. Its sink owes each outcome to
 * task_completed and jira, as OutcomeReporting would for a JIRA task; what it reports lands in
 * `reported`, and what it was asked to deliver in `asked` (undefined: everything).
 */
async function startWatcher(reporter: string, reported: FinishedTask[] = [], options: WatcherOptions = {}) {
  const ownApi = createKubernetesApi(loadKubeConfig(fake.kubeconfigPath), 'agents', logger);
  const informer = ownApi.watchJobs('app=anton-runner');
  const asked: Array<string[] | undefined> = [];
  const sink: OutcomeSink = {
    owed: () => ['task_completed', 'jira'],
    report: async (finished, only, onDone) => {
      reported.push(finished);
      asked.push(only && [...only].sort());
      return options.deliver ? options.deliver(finished, only, onDone) : [];
    },
  };
  const watcher = new JobOutcomeWatcher({
    api: ownApi,
    informer,
    policy,
    logger,
    reporter,
    sink,
    retryDelayMs: 50,
    ...(options.leaseMs !== undefined && { leaseMs: options.leaseMs }),
  });
  watcher.start();
  await informer.start();
  watchers.push(watcher);
  informers.push(informer);
  return { reported, asked, watcher, informer };
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
    expect(finished?.outcome).toEqual(prOpenedOutcome(task));
    expect(finished).toMatchObject({ title: task.title, url: task.url, labels: { project: 'ORD', team: 'payments' } });
    await waitFor(() => job(name)?.metadata.labels?.['anton.dev/result'] === 'pr_opened', { what: 'the label' });
    expect(job(name)?.metadata.annotations).toMatchObject({
      'anton.dev/result': 'pr_opened',
      'anton.dev/pr-url': 'https://github.com/acme/orders/pull/7',
      'anton.dev/reported-by': 'orchestrator-a',
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
    expect(job(name)?.metadata.labels?.['anton.dev/result']).toBe('timed_out');
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

  it('has two orchestrators on one cluster report each outcome once', async () => {
    const reported: FinishedTask[] = [];
    await startWatcher('orchestrator-a', reported);
    await startWatcher('orchestrator-b', reported);
    const started = await Promise.all([1, 2, 3, 4, 5].map((n) => jobs.start({ external_id: `ORD-${n}` })));
    for (const { job: name, task } of started) {
      const message = terminationMessage({ branch: `fix/${task.external_id}` });
      fake.setJobPhase('agents', name, 'succeeded', { terminationMessage: message });
    }
    await waitFor(
      () => started.every(({ job: name }) => job(name)?.metadata.labels?.['anton.dev/result'] === 'pr_opened'),
      { what: 'every outcome recorded' },
    );
    await waitFor(() => reported.length === 5, { what: 'five reports' });
    expect(ids(reported)).toEqual(started.map((s) => s.task.task_id).sort());
    const writers = started.map(({ job: name }) => job(name)?.metadata.annotations?.['anton.dev/reported-by']);
    expect(writers.every((w) => w === 'orchestrator-a' || w === 'orchestrator-b')).toBe(true);
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

  it('tries again when the API refuses the write, and reports once it lands', async () => {
    const { reported } = await startWatcher('orchestrator-a');
    const { job: name } = await jobs.start();
    fake.inject(kubernetesStatusFault(503, 'ServiceUnavailable', 'etcd leader changed'), {
      times: 4, // more than one attempt's retries
      method: 'PATCH',
      path: `/apis/batch/v1/namespaces/agents/jobs/${name}`,
    });
    fake.setJobPhase('agents', name, 'succeeded', { terminationMessage: terminationMessage() });
    await waitFor(() => reported.length === 1, { what: 'the outcome' });
    // Four refused writes, the one that landed, and the one that clears the delivered reports.
    await waitFor(() => job(name)?.metadata.annotations?.['anton.dev/reports-pending'] === undefined);
    expect(fake.received(`/apis/batch/v1/namespaces/agents/jobs/${name}`, 'PATCH')).toHaveLength(6);
    expect(job(name)?.metadata.labels?.['anton.dev/result']).toBe('pr_opened');
  });
});

/** A gate a delivery waits on until the test opens it. */
function gate() {
  let open: (left: string[]) => void = () => undefined;
  const closed = new Promise<string[]>((resolve) => {
    open = resolve;
  });
  return { wait: () => closed, open };
}

const annotations = (name: string) => job(name)?.metadata.annotations ?? {};
const until = (name: string) => Date.parse(annotations(name)['anton.dev/reporting-until'] ?? '');

/** A finished Job whose outcome an orchestrator recorded, and then died owing `owed`, its hold ending at `holdEnds`. */
async function leftByADeadOrchestrator(owed: string, holdEnds: Date) {
  const started = await jobs.start();
  fake.setJobPhase('agents', started.job, 'succeeded', { terminationMessage: terminationMessage() });
  await fake.settled();
  const current = job(started.job);
  await api.patchJobMetadata(started.job, {
    resourceVersion: current?.metadata.resourceVersion ?? '',
    labels: { 'anton.dev/result': 'pr_opened' },
    annotations: {
      'anton.dev/result': 'pr_opened',
      'anton.dev/reported-by': 'orchestrator-dead',
      'anton.dev/reports-pending': owed,
      'anton.dev/reporting-until': holdEnds.toISOString(),
    },
  });
  return started;
}

describe('JobOutcomeWatcher: reports owed, held and taken over', () => {
  it('writes who the outcome is owed to with a hold on it, strikes each off when done, and clears both', async () => {
    const delivery = gate();
    const halfway = gate();
    const { reported, asked } = await startWatcher('orchestrator-a', [], {
      deliver: async (_finished, _only, onDone) => {
        await halfway.wait();
        onDone?.('task_completed');
        return delivery.wait();
      },
      leaseMs: 60_000,
    });
    const { job: name } = await jobs.start();
    fake.setJobPhase('agents', name, 'succeeded', { terminationMessage: terminationMessage() });
    await waitFor(() => reported.length === 1, { what: 'the outcome' });
    expect(asked).toEqual([undefined]);
    expect(annotations(name)).toMatchObject({
      'anton.dev/reported-by': 'orchestrator-a',
      'anton.dev/reports-pending': 'task_completed,jira',
    });
    expect(until(name) - Date.now()).toBeGreaterThan(50_000);

    halfway.open([]);
    await waitFor(() => annotations(name)['anton.dev/reports-pending'] === 'jira', {
      what: 'task_completed struck off',
    });
    delivery.open([]);
    await waitFor(() => annotations(name)['anton.dev/reports-pending'] === undefined, {
      what: 'the owed list cleared',
    });
    expect(annotations(name)['anton.dev/reporting-until']).toBeUndefined();
    expect(annotations(name)['anton.dev/result']).toBe('pr_opened');
  });

  it('renews its hold while the deliveries outlast it, so a second orchestrator never takes them', async () => {
    const delivery = gate();
    const reported: FinishedTask[] = [];
    await startWatcher('orchestrator-a', reported, { deliver: delivery.wait, leaseMs: 300 });
    await startWatcher('orchestrator-b', reported, { leaseMs: 300 });
    const { job: name } = await jobs.start();
    fake.setJobPhase('agents', name, 'succeeded', { terminationMessage: terminationMessage() });
    await waitFor(() => annotations(name)['anton.dev/reports-pending'] !== undefined, { what: 'the record' });
    const first = until(name);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // three holds long
    expect(until(name)).toBeGreaterThan(first);
    expect(reported).toHaveLength(1);
    expect(annotations(name)['anton.dev/reported-by']).toBe('orchestrator-a');
    delivery.open([]);
    await waitFor(() => annotations(name)['anton.dev/reports-pending'] === undefined, {
      what: 'the owed list cleared',
    });
  });

  it('takes over what a dead orchestrator owed once its hold runs out, delivering only that', async () => {
    const dead = await leftByADeadOrchestrator('jira', new Date(Date.now() + 700));
    const reported: FinishedTask[] = [];
    const a = await startWatcher('orchestrator-a', reported);
    const b = await startWatcher('orchestrator-b', reported);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reported).toHaveLength(0); // still held

    await waitFor(() => reported.length === 1, { what: 'the takeover once the hold ran out' });
    expect(reported[0]?.outcome).toMatchObject({ task_id: dead.task.task_id, status: 'pr_opened' });
    expect([...a.asked, ...b.asked]).toEqual([['jira']]);
    await waitFor(() => annotations(dead.job)['anton.dev/reports-pending'] === undefined, {
      what: 'the owed list cleared',
    });
    expect(['orchestrator-a', 'orchestrator-b']).toContain(annotations(dead.job)['anton.dev/reported-by']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reported).toHaveLength(1); // taken over once, by one of the two
  });

  it('at shutdown, leaves on the Job what it could not deliver and ends its hold, for the next orchestrator', async () => {
    const delivery = gate();
    const first = await startWatcher('orchestrator-a', [], { deliver: delivery.wait });
    const { task, job: name } = await jobs.start();
    fake.setJobPhase('agents', name, 'succeeded', { terminationMessage: terminationMessage() });
    await waitFor(() => first.reported.length === 1, { what: 'the outcome' });
    await first.watcher.stop();
    delivery.open(['jira']); // the report queue, drained, abandoned the JIRA comment
    await first.watcher.settled();
    await first.informer.stop();
    expect(annotations(name)['anton.dev/reports-pending']).toBe('jira');
    expect(until(name)).toBeLessThanOrEqual(Date.now());

    const next = await startWatcher('orchestrator-a-restarted');
    await waitFor(() => next.reported.length === 1, { what: 'the next orchestrator to deliver it' });
    expect(next.reported[0]?.outcome.task_id).toBe(task.task_id);
    expect(next.asked).toEqual([['jira']]);
    await waitFor(() => annotations(name)['anton.dev/reports-pending'] === undefined, {
      what: 'the owed list cleared',
    });
  });

  it('gives up, saying so, on reports it cannot rebuild (the Job no longer names its task)', async () => {
    const dead = await leftByADeadOrchestrator('jira', new Date(Date.now() - 1_000));
    await api.patchJobMetadata(dead.job, { labels: { 'task-id': null } });
    const { reported } = await startWatcher('orchestrator-a');
    await waitFor(() => fake.received('/api/v1/namespaces/agents/pods', 'GET').length > 0, { what: 'a look' });
    await jobs.start({ external_id: 'ORD-2' }); // more watch events: it does not look again and again
    await fake.settled();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reported).toHaveLength(0);
    expect(fake.received('/api/v1/namespaces/agents/pods', 'GET')).toHaveLength(1);
    expect(annotations(dead.job)['anton.dev/reports-pending']).toBe('jira');
  });
});
