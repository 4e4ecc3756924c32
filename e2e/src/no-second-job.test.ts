import { RunnerResult, TASK_CREATED } from '@anton/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ExchangeTap, tapExchange } from './harness/exchange-tap.ts';
import { Pipeline } from './harness/pipeline.ts';
import { datadogAlert, jiraIssueCreated } from './harness/sample-webhooks.ts';
import { clusterCounts, expectOutcomeRecorded, finishedRun, pullsFor } from './harness/task-assertions.ts';

// What must not start work, or not start it twice. One pipeline for the file; every test uses
// incidents of its own and waits for its pods to end.
let pipeline: Pipeline;
let tap: ExchangeTap;

beforeAll(async () => {
  pipeline = await Pipeline.start({ label: 'e2e-once' });
  tap = await tapExchange(pipeline.vhost.url);
});
afterAll(async () => {
  await tap?.close();
  await pipeline?.close();
});
afterEach(() => pipeline.kubelet?.idle());

describe('no work, or no second Job', () => {
  it('an ignored event (a Datadog recovery) publishes nothing and starts no Job', async () => {
    const before = clusterCounts(pipeline);
    await tap.publishedSinceLastCheck();
    const reply = await pipeline.postWebhook('datadog', datadogAlert('e2e-recovery-1', { transition: 'Recovered' }));
    expect(reply).toEqual({ status: 200, body: { status: 'ignored', reason: expect.stringContaining('recovery') } });
    expect(await tap.publishedSinceLastCheck()).toEqual([]);
    expect(clusterCounts(pipeline)).toEqual(before);
    expect(pipeline.ingester.lines.some((line) => line.msg === 'webhook ignored')).toBe(true);
  });

  it('a redelivery with the same Jira delivery id is the same task: one message, one Job, one outcome', async () => {
    const before = clusterCounts(pipeline);
    pipeline.jira.addIssue('SHOP-2');
    const body = Buffer.from(JSON.stringify(jiraIssueCreated(2)));
    const headers = { 'x-atlassian-webhook-identifier': 'e2e-delivery-2' };
    await tap.publishedSinceLastCheck();
    const first = await pipeline.postWebhook('jira', body, { headers });
    const again = await pipeline.postWebhook('jira', body, { headers });
    expect([first.status, again.status]).toEqual([202, 202]);
    const taskId = String(first.body.task_id);
    expect(again.body.task_id).toBe(taskId);
    expect((await tap.publishedSinceLastCheck()).map((message) => message.routingKey)).toEqual([TASK_CREATED]);

    const run = await finishedRun(pipeline, taskId);
    const result = RunnerResult.parse(JSON.parse(run.terminationMessage ?? ''));
    await expectOutcomeRecorded(pipeline, taskId, { source: 'jira', result });
    expect(clusterCounts(pipeline)).toEqual({ jobs: before.jobs + 1, contexts: before.contexts + 1 });
    expect(pullsFor(pipeline, result.branch)).toHaveLength(1);
  });

  it('a second delivery about the same incident (a re-triggered alert) makes no second Job', async () => {
    const before = clusterCounts(pipeline);
    const post = async (payload: object) => String((await pipeline.postWebhook('datadog', payload)).body.task_id);
    const first = await post(datadogAlert('e2e-alert-2', { cycle: 'incident-2' }));
    const second = await post(datadogAlert('e2e-alert-3', { cycle: 'incident-2', transition: 'Re-Triggered' }));
    expect(second).not.toBe(first);
    await pipeline.orchestrator.waitForLine(
      (line) => line.task_id === second && line.msg === 'duplicate task skipped',
      {
        what: 'the second delivery to be skipped',
      },
    );

    const run = await finishedRun(pipeline, first);
    const result = RunnerResult.parse(JSON.parse(run.terminationMessage ?? ''));
    await expectOutcomeRecorded(pipeline, first, { source: 'datadog', result });
    expect(pipeline.job(second)).toBeUndefined();
    expect(pipeline.outcomesFor(second)).toEqual([]);
    expect(clusterCounts(pipeline)).toEqual({ jobs: before.jobs + 1, contexts: before.contexts + 1 });
    expect(pullsFor(pipeline, result.branch)).toHaveLength(1);
  });
});
