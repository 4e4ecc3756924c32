import { Writable } from 'node:stream';
import { type AgentTask, type RouterPlan, TASK_COMPLETED, TaskOutcome } from '@anton/contracts';
import { type Capture, captureMessages, FakeDatadog, FakeJira, waitFor } from '@anton/testing';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Pipeline } from '../test/pipeline.ts';
import { prOpenedOutcome, terminationMessage } from '../test/runner-results.ts';
import { makeTask } from '../test/tasks.ts';
import { loadConfig } from './config.ts';
import { type RunningOrchestrator, startOrchestrator } from './orchestrator.ts';

const pipeline = new Pipeline();
let jira: FakeJira;
let datadog: FakeDatadog;
let completed: Capture;
let logText: string;
const others: RunningOrchestrator[] = [];

beforeAll(() => pipeline.setUp('orchestrator-outcomes'));
afterAll(() => pipeline.tearDown());
beforeEach(async () => {
  await pipeline.beforeEach();
  pipeline.anthropic.setHandler(() => routeReply);
  jira = await FakeJira.start();
  jira.addIssue('ORD-42').addIssue('ORD-43').addIssue('ORD-44');
  datadog = await FakeDatadog.start();
  completed = await captureMessages(pipeline.vhost.url, TASK_COMPLETED);
  logText = '';
});
afterEach(async () => {
  for (const other of others.splice(0)) await other.stop();
  // The reporters' queues are durable: what one test left (a retry waiting) must not reach the next.
  for (const name of ['jira', 'datadog']) {
    for (const suffix of ['', '.dlq', '.retry.20ms', '.retry.50ms']) {
      await pipeline.broker.channel.deleteQueue(`anton.reports.${name}${suffix}`).catch(() => undefined);
    }
  }
  await pipeline.afterEach();
  await completed.close();
  await jira.close();
  await datadog.close();
});

const plan: RouterPlan = {
  template_id: 'java-backend',
  complexity: 'medium',
  required_skills: ['java'],
  context_summary: 'OrderService.total dereferences a null discount.',
};
const routeReply = { content: [{ type: 'tool_use' as const, name: 'route_task', input: plan }] };

/** A logger whose JSON lines land in `logText`, to check what is logged and what never is. */
const capturingLogger = () =>
  pino(
    { level: 'info' },
    new Writable({
      write(chunk, _encoding, done) {
        logText += chunk.toString();
        done();
      },
    }),
  );

const reporterEnv = (overrides: Record<string, string> = {}) => ({
  JIRA_BASE_URL: jira.url,
  JIRA_EMAIL: jira.email,
  JIRA_API_TOKEN: jira.apiToken,
  DATADOG_API_KEY: datadog.apiKey,
  DATADOG_API_URL: datadog.url,
  REPORT_RETRY_DELAYS: '20ms,50ms',
  ...overrides,
});

/** Publishes a task and waits until its Job's pod runs; returns the Job's name. */
async function dispatch(task: AgentTask): Promise<string> {
  await pipeline.broker.publish(task, {}, task.task_id);
  const name = `agent-job-${task.task_id}`;
  await waitFor(() => pipeline.kubernetes.get('Job', 'agents', name), { what: `the Job of ${task.external_id}` });
  await pipeline.kubernetes.settled();
  return name;
}

/** Ends the Job as its runner would: the result names the task's own branch, `fix/<external id>`. */
const succeed = (job: string, overrides = {}) => {
  const externalId = pipeline.kubernetes.get('Job', 'agents', job)?.metadata.annotations?.['anton.dev/external-id'];
  const message = terminationMessage({ branch: `fix/${externalId}`, ...overrides });
  return pipeline.kubernetes.setJobPhase('agents', job, 'succeeded', { terminationMessage: message });
};
const outcomes = () => completed.bodies().map((body) => TaskOutcome.parse(body));
const outcomesOf = (task: AgentTask) => outcomes().filter((o) => o.task_id === task.task_id);
const metricsText = async () => (await fetch(`${pipeline.orchestrator?.healthUrl}/metrics`)).text();
const claims = () =>
  pipeline.kubernetes.configMaps('agents').filter((cm) => cm.metadata?.name?.startsWith('anton-dedup-'));

describe('outcomes: each Job followed to its end and reported where the task came from', () => {
  // The termination message is written inside the pod the agent worked in: a forged pull request
  // must not be announced as this task's fix.
  it("a result naming another repository's pull request: failed with that reason, and not announced", async () => {
    await pipeline.start(reporterEnv());
    const task = makeTask({ external_id: 'ORD-77' });
    jira.addIssue('ORD-77');
    succeed(await dispatch(task), { pr_url: 'https://github.com/mallory/orders/pull/1' });
    await waitFor(() => outcomesOf(task).length === 1, { what: 'the task.completed message' });
    expect(outcomesOf(task)[0]).toMatchObject({
      status: 'failed',
      reason:
        "the reported pull request https://github.com/mallory/orders/pull/1 is not one of the task's repository https://github.com/acme/orders.git",
    });
    expect(outcomesOf(task)[0]?.pr_url).toBeUndefined();
    await waitFor(() => jira.comments('ORD-77').length === 1, { what: 'the JIRA comment' });
    expect(jira.comments('ORD-77')[0]?.text).not.toContain('Pull request:');
  });

  it('a succeeded Job: one JIRA comment with the PR link, one task.completed message, the Job labelled', async () => {
    await pipeline.start(reporterEnv(), capturingLogger());
    const task = makeTask();
    const job = await dispatch(task);
    succeed(job);
    await waitFor(() => jira.comments('ORD-42').length === 1, { what: 'the JIRA comment' });
    await waitFor(() => outcomesOf(task).length === 1, { what: 'the task.completed message' });

    expect(jira.comments('ORD-42')[0]?.text).toContain('Pull request: https://github.com/acme/orders/pull/7');
    const [message] = completed.messages;
    expect(message?.properties).toMatchObject({
      messageId: task.task_id,
      deliveryMode: 2,
      contentType: 'application/json',
    });
    expect(message?.fields.routingKey).toBe('task.completed');
    expect(outcomesOf(task)[0]).toMatchObject(prOpenedOutcome(task));
    // The label is written after the confirmed publish, so it may land after the comment.
    const result = () => pipeline.kubernetes.get('Job', 'agents', job)?.metadata.labels?.['anton.dev/result'];
    await waitFor(() => result() !== undefined, { what: 'the Job labelled' });
    const labelled = pipeline.kubernetes.get('Job', 'agents', job);
    expect(labelled?.metadata.labels?.['anton.dev/result']).toBe('pr_opened');
    expect(labelled?.metadata.annotations?.['anton.dev/pr-url']).toBe('https://github.com/acme/orders/pull/7');
    expect(datadog.requests).toHaveLength(0); // a JIRA task: Datadog is not told
    expect(claims()).toHaveLength(1); // a PR opened: the incident stays claimed

    // A marker task finishing later: by then a second report of the first would have come.
    const marker = makeTask({ external_id: 'ORD-43' });
    succeed(await dispatch(marker));
    await waitFor(() => outcomesOf(marker).length === 1, { what: 'the marker outcome' });
    expect(outcomesOf(task)).toHaveLength(1);
    expect(jira.comments('ORD-42')).toHaveLength(1);
    expect(await metricsText()).toContain('anton_reports_total{reporter="jira",outcome="sent"} 2');
    expect(logText).toContain('"msg":"task finished"');
    expect(logText).not.toContain(jira.apiToken);
    expect(logText).not.toContain(datadog.apiKey);
  });

  it('a failed Job: a comment with the reason and no PR link; the incident may be tried again', async () => {
    await pipeline.start(reporterEnv());
    const task = makeTask({ dedup_key: 'jira:10042' });
    const job = await dispatch(task);
    expect(claims()).toHaveLength(1);
    pipeline.kubernetes.setJobPhase('agents', job, 'failed', {
      exitCode: 2,
      terminationMessage: terminationMessage({ status: 'failed', pr_url: undefined, reason: 'mvn test keeps failing' }),
    });
    await waitFor(() => jira.comments('ORD-42').length === 1, { what: 'the JIRA comment' });
    const [comment] = jira.comments('ORD-42');
    expect(comment?.text).toContain('anton could not fix this.\nReason: mvn test keeps failing');
    expect(comment?.text).not.toMatch(/pull|https?:/i);
    await waitFor(() => outcomesOf(task)[0]?.status === 'failed', { what: 'the failed outcome' });
    expect(outcomesOf(task)[0]?.pr_url).toBeUndefined();
    await waitFor(() => claims().length === 0, { what: 'the claim to be released' });

    const again = makeTask({ dedup_key: 'jira:10042', external_id: 'ORD-43' });
    await dispatch(again); // a later event about the incident gets a Job
  });

  it('a Job past its deadline: timed_out, and the incident stays claimed', async () => {
    await pipeline.start(reporterEnv());
    const task = makeTask({ dedup_key: 'jira:20042' });
    const job = await dispatch(task);
    pipeline.kubernetes.exceedJobDeadline('agents', job);
    await waitFor(() => outcomesOf(task).length === 1, { what: 'the outcome' });
    expect(outcomesOf(task)[0]).toMatchObject({ status: 'timed_out', reason: expect.stringContaining('deadline') });
    await waitFor(() => jira.comments('ORD-42').length === 1, { what: 'the JIRA comment' });
    expect(jira.comments('ORD-42')[0]?.text).toContain('anton ran out of time.');

    await pipeline.broker.publish(makeTask({ dedup_key: 'jira:20042' }));
    await waitFor(async () => (await metricsText()).includes('tasks_deduplicated_total{source="jira"} 1'), {
      what: 'the next event about the incident to be skipped',
    });
    expect(pipeline.kubernetes.jobs('agents')).toHaveLength(1);
  });

  it("a Datadog alert: an event with the monitor's tags, and nothing to JIRA", async () => {
    await pipeline.start(reporterEnv());
    const task = makeTask({
      source: 'datadog',
      external_id: '7001',
      title: '[Triggered on {service:checkout}] Error rate high',
      labels: { service: 'checkout', env: 'prod' },
      repository: 'https://github.com/acme/checkout.git',
    });
    succeed(await dispatch(task), { pr_url: 'https://github.com/acme/checkout/pull/3' });
    await waitFor(() => datadog.events().length === 1, { what: 'the Datadog event' });
    expect(datadog.events()[0]).toMatchObject({
      title: 'anton opened a pull request: [Triggered on {service:checkout}] Error rate high',
      tags: ['service:checkout', 'env:prod', 'anton_status:pr_opened'],
      alert_type: 'success',
      text: expect.stringContaining('https://github.com/acme/checkout/pull/3'),
    });
    expect(jira.requests).toHaveLength(0);
  });

  it('reporters not configured: nothing is called; the outcome message still goes out', async () => {
    await pipeline.start();
    const fromJira = makeTask();
    const fromDatadog = makeTask({
      source: 'datadog',
      external_id: '7002',
      repository: 'https://github.com/acme/checkout.git',
    });
    succeed(await dispatch(fromJira));
    succeed(await dispatch(fromDatadog));
    await waitFor(() => outcomes().length === 2, { what: 'both outcome messages' });
    expect(jira.requests).toHaveLength(0);
    expect(datadog.requests).toHaveLength(0);
  });

  it('JIRA answering 500 is retried, and the consumer keeps consuming meanwhile', async () => {
    jira.serverError(10_000);
    await pipeline.start(reporterEnv({ REPORT_MAX_ATTEMPTS: '1000' }));
    const first = makeTask();
    succeed(await dispatch(first));
    await waitFor(() => jira.received('/rest/api/2/issue/ORD-42/comment', 'POST').length >= 2, {
      what: 'the comment to be retried',
    });
    const during = makeTask({ external_id: 'ORD-43' });
    await dispatch(during); // dispatched while the report keeps failing
    expect(jira.comments('ORD-42')).toHaveLength(0);

    jira.clearFaults();
    await waitFor(() => jira.comments('ORD-42').length === 1, { what: 'the comment once JIRA is back' });
    expect(outcomesOf(first)).toHaveLength(1);
  });

  it('a retry starts at the delivery that failed: the comment is made once, the label after JIRA recovers', async () => {
    await pipeline.start(reporterEnv({ JIRA_DONE_LABEL: 'anton-pr' }));
    jira.inject(
      { kind: 'status', status: 503, body: {} },
      { times: 2, method: 'PUT', path: '/rest/api/2/issue/ORD-42' },
    );
    succeed(await dispatch(makeTask()));
    await waitFor(() => jira.received('/rest/api/2/issue/ORD-42', 'PUT').length === 3, {
      what: 'the label, refused twice, then made',
    });
    expect(jira.comments('ORD-42')).toHaveLength(1);
    expect(jira.received('/rest/api/2/issue/ORD-42/comment', 'POST')).toHaveLength(1);
    await waitFor(() => jira.issue('ORD-42').labels.includes('anton-pr'), { what: 'the label on the issue' });
  });

  it('a report that finally fails is logged at error level with its task_id and counted, its token never', async () => {
    jira.serverError(10_000);
    await pipeline.start(reporterEnv({ REPORT_MAX_ATTEMPTS: '2' }), capturingLogger());
    const task = makeTask();
    succeed(await dispatch(task));
    await waitFor(
      async () => (await metricsText()).includes('anton_reports_total{reporter="jira",outcome="failed"} 1'),
      {
        what: 'the report to fail for good',
      },
    );
    const failure = logText
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .find((line) => line.msg === 'report failed for good');
    expect(failure).toMatchObject({ level: 50, task_id: task.task_id, reporter: 'jira', attempts: 2 });
    expect(logText).not.toContain(jira.apiToken);
    // Dead-lettered to the reporter's own dead-letter queue, with the reason.
    await waitFor(async () => (await pipeline.broker.count('anton.reports.jira.dlq')).messageCount === 1, {
      what: 'the report dead letter',
    });
    const [dead] = await pipeline.broker.drain('anton.reports.jira.dlq');
    expect(dead?.properties.messageId).toBe(task.task_id);
    expect(String(dead?.properties.headers?.['x-anton-dead-letter-reason'])).toMatch(
      /^gave up after 2 attempts: comment on ORD-42: .*HTTP 500/,
    );
  });

  it('a report refused for good (JIRA 404): dead-lettered at once with the reason, never retried', async () => {
    await pipeline.start(reporterEnv());
    const task = makeTask({ external_id: 'ORD-404' });
    succeed(await dispatch(task));
    await waitFor(async () => (await pipeline.broker.count('anton.reports.jira.dlq')).messageCount === 1, {
      what: 'the report dead letter',
    });
    expect(jira.received('/rest/api/2/issue/ORD-404/comment', 'POST')).toHaveLength(1);
    const [dead] = await pipeline.broker.drain('anton.reports.jira.dlq');
    expect(String(dead?.properties.headers?.['x-anton-dead-letter-reason'])).toMatch(/^comment on ORD-404: .*HTTP 404/);
  });

  it('outcomes wait in the reporter queue while no orchestrator consumes it, and are delivered after', async () => {
    await pipeline.start(reporterEnv());
    await pipeline.orchestrator?.stop();
    // The queue is durable and bound: an outcome published now (by anyone) waits in it.
    const task = makeTask();
    const outcome = { ...prOpenedOutcome(task), finished_at: new Date().toISOString() };
    pipeline.broker.channel.publish('agent_events', 'task.completed', Buffer.from(JSON.stringify(outcome)), {
      persistent: true,
      messageId: task.task_id,
    });
    await pipeline.broker.channel.waitForConfirms();
    expect((await pipeline.broker.count('anton.reports.jira')).messageCount).toBe(1);
    await pipeline.start(reporterEnv());
    await waitFor(() => jira.comments('ORD-42').length === 1, { what: 'the comment after the restart' });
  });

  it('two orchestrators on one cluster report each outcome once', async () => {
    await pipeline.start(reporterEnv());
    others.push(await startOrchestrator(loadConfig(pipeline.env(reporterEnv())), pino({ level: 'silent' })));
    const tasks = [makeTask(), makeTask({ external_id: 'ORD-43' })];
    const jobs = [];
    for (const task of tasks) jobs.push(await dispatch(task));
    for (const job of jobs) succeed(job);
    // Both may publish an outcome they decided at the same moment (message_id = task_id): at least once.
    const ids = () => [...new Set(outcomes().map((o) => o.task_id))].sort();
    await waitFor(() => ids().length === 2, { what: 'both outcomes' });
    const marker = makeTask({ external_id: 'ORD-44' });
    succeed(await dispatch(marker));
    await waitFor(() => outcomesOf(marker).length >= 1, { what: 'the marker outcome' });
    expect(ids()).toEqual([...tasks, marker].map((t) => t.task_id).sort());
    await waitFor(() => jira.comments('ORD-44').length === 1, { what: 'the marker comment' });
    // The reporters' queue has one active consumer, which drops a second publish of one outcome.
    expect(jira.comments('ORD-42')).toHaveLength(1);
    expect(jira.comments('ORD-43')).toHaveLength(1);
  });

  it('sums the runners token usage by source, template, model role and kind, and their cost', async () => {
    await pipeline.start();
    const usage = (coderInput: number) => ({
      coder: {
        input_tokens: coderInput,
        output_tokens: 10,
        cache_creation_input_tokens: 100,
        cache_read_input_tokens: 1000,
      },
      reviewer: { input_tokens: 7, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
    const tasks = [makeTask(), makeTask({ external_id: 'ORD-43' })];
    succeed(await dispatch(tasks[0] ?? makeTask()), { usage: usage(2000), cost_usd: 0.25 });
    succeed(await dispatch(tasks[1] ?? makeTask()), {
      status: 'no_changes',
      pr_url: undefined,
      usage: usage(500),
      cost_usd: 0.5,
    });
    await waitFor(() => outcomes().length === 2, { what: 'both outcomes' });
    const text = await metricsText();
    const series = (role: string, kind: string) =>
      `anton_llm_tokens_total{source="jira",template="java-backend",model_role="${role}",kind="${kind}"}`;
    expect(text).toContain(`${series('coder', 'input')} 2500`);
    expect(text).toContain(`${series('coder', 'output')} 20`);
    expect(text).toContain(`${series('coder', 'cache_write')} 200`);
    expect(text).toContain(`${series('coder', 'cache_read')} 2000`);
    expect(text).toContain(`${series('reviewer', 'input')} 14`);
    expect(text).toContain(`${series('reviewer', 'output')} 2`);
    expect(text).not.toContain(series('reviewer', 'cache_read'));
    expect(text).toContain('anton_llm_cost_usd_total{source="jira",template="java-backend"} 0.75');
    expect(text).toContain('anton_task_outcomes_total{source="jira",template="java-backend",status="pr_opened"} 1');
    expect(text).toContain('anton_task_outcomes_total{source="jira",template="java-backend",status="no_changes"} 1');
  });
});
