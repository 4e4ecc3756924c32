import { AgentTask, CONTENT_TYPE_JSON, EXCHANGE, HEADERS, TASK_CREATED } from '@anton/contracts';
import { waitFor } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, fixtureJson, JIRA_CREATED_TASK } from '../test/fixture.ts';
import { expectNothingPublishedSince, type Harness, type Route, signedHeaders, startHarness } from '../test/harness.ts';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness();
});
afterAll(() => harness?.close());

/** Posts a fixture and returns the message the broker delivered for it. */
async function publish(route: Route, body: Buffer, headers?: Record<string, string>) {
  const reply = await harness.post(route, body, headers);
  expect(reply.statusCode, reply.body).toBe(202);
  const { task_id } = reply.json() as { task_id: string };
  const message = await waitFor(() => harness.capture.messages.find((m) => m.properties.messageId === task_id), {
    what: `task ${task_id}`,
  });
  return { task_id, message, task: JSON.parse(message.content.toString('utf8')) };
}

describe('each route publishes the task of its sample payload', () => {
  it.each([
    ['jira', 'jira-issue_created-1.json', { source: 'jira', ...JIRA_CREATED_TASK }],
    [
      'datadog',
      'datadog-triggered-2.json',
      {
        source: 'datadog',
        external_id: '8306082202796025694',
        title: '[Triggered] High tracking',
        priority: 'P1',
        event: 'query_alert_monitor',
        labels: {},
        dedup_key: 'datadog:event:8306082202796025694',
      },
    ],
    [
      'sonar',
      'sonar-qualitygate-ERROR-1.json',
      {
        source: 'sonarcloud',
        external_id: 'Username_Test_Python_App@master',
        title: 'SonarCloud analysis: Test_Python_App',
        priority: 'P2',
        event: 'quality_gate_error',
        url: 'https://sonarcloud.io/dashboard?id=Username_Test_Python_App',
        labels: { project: 'Username_Test_Python_App', branch: 'master', quality_gate: 'ERROR' },
        dedup_key: 'sonar:Username_Test_Python_App:branch:master',
      },
    ],
  ] as const)('POST /webhooks/%s with %s', async (route, name, expected) => {
    const body = fixture(name);
    const { task_id, message, task } = await publish(route, body);

    expect(AgentTask.parse(task)).toEqual(task);
    expect(task).toMatchObject({ ...expected, task_id, raw_payload: JSON.parse(body.toString('utf8')) });
    expect(typeof task.description).toBe('string');
    expect(Date.parse(task.created_at)).not.toBeNaN();
    expect(message.fields).toMatchObject({ exchange: EXCHANGE, routingKey: TASK_CREATED });
    expect(message.properties).toMatchObject({
      messageId: task_id,
      contentType: CONTENT_TYPE_JSON,
      deliveryMode: 2,
      headers: { [HEADERS.source]: expected.source },
    });
  });

  it('accepts a form-encoded Datadog payload', async () => {
    const fields = { id: '99', title: '[Triggered] Disk full', alert_priority: 'P5', tags: 'service:db,env:prod' };
    const body = Buffer.from(new URLSearchParams(fields).toString());
    const { task } = await publish('datadog', body, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-webhook-secret': 'datadog-secret',
    });
    expect(task).toMatchObject({
      external_id: '99',
      priority: 'P4',
      labels: { service: 'db', env: 'prod' },
      raw_payload: fields,
    });
  });
});

describe('events that must not start work', () => {
  let mark: number;
  beforeAll(() => {
    mark = harness.capture.messages.length;
  });
  const closed = fixtureJson('jira-issue_updated-1.json');
  const triggered = fixtureJson('datadog-triggered-2.json');
  it.each([
    ['jira', fixture('jira-comment_created-1.json'), 'comment_created events do not start work'],
    ['jira', fixture('jira-issue_updated-1.json'), 'issue updates start work only when'],
    ['jira', Buffer.from(JSON.stringify({ ...closed, webhookEvent: 'jira:issue_deleted' })), 'jira:issue_deleted'],
    ['datadog', fixture('datadog-default-rendered-1.json'), 'test notification'],
    ['datadog', Buffer.from(JSON.stringify({ ...triggered, transition: 'Recovered' })), 'recovery'],
    ['datadog', Buffer.from(JSON.stringify({ ...triggered, alert_type: 'success' })), 'recovery'],
    ['datadog', Buffer.from(JSON.stringify({ ...triggered, id: '$ID' })), 'unrendered template variable $ID'],
    ['sonar', fixture('sonar-qualitygate-OK-1.json'), 'quality gate passed'],
    ['sonar', fixture('sonar-task-FAILED-1.json'), 'analysis task FAILED'],
  ] as const)('%s: %#', async (route, body, reason) => {
    const reply = await harness.post(route, body);
    expect(reply.statusCode, reply.body).toBe(200);
    expect(reply.json()).toEqual({ status: 'ignored', reason: expect.stringContaining(reason) });
  });

  it('published none of them', async () => {
    await expectNothingPublishedSince(harness, mark);
  });
});

describe('repeated Jira deliveries', () => {
  it('answers a repeat with the first task id and publishes it once, even while the first is in flight', async () => {
    const body = fixture('jira-issue_created-1.json');
    const headers = (id: string) => ({
      ...signedHeaders('jira', body),
      'x-atlassian-webhook-identifier': id,
      'x-atlassian-webhook-retry': '1',
    });
    const [first, concurrent] = await Promise.all([
      harness.post('jira', body, headers('delivery-1')),
      harness.post('jira', body, headers('delivery-1')),
    ]);
    const later = await harness.post('jira', body, headers('delivery-1'));
    const other = await harness.post('jira', body, headers('delivery-2'));
    expect([first.statusCode, concurrent.statusCode, later.statusCode, other.statusCode]).toEqual([202, 202, 202, 202]);
    const firstId = first.json().task_id;
    expect(concurrent.json().task_id).toBe(firstId);
    expect(later.json().task_id).toBe(firstId);
    expect(other.json().task_id).not.toBe(firstId);
    await waitFor(() => harness.capture.messages.some((m) => m.properties.messageId === other.json().task_id));
    expect(harness.capture.messages.filter((m) => m.properties.messageId === firstId)).toHaveLength(1);
  });
});

describe('logs and metrics', () => {
  it('puts task_id on every log line of a request once it is known, and never a credential', async () => {
    const body = fixture('sonar-qualitygate-ERROR-1.json');
    const headers = signedHeaders('sonar', body);
    const { task_id } = await publish('sonar', body, headers);
    const lines = harness.logs.filter((line) => line.task_id === task_id);
    expect(lines.map((line) => line.msg)).toEqual(['task published']);
    const reqId = lines[0]?.reqId;
    expect(reqId).toBeDefined();
    expect(harness.logs.filter((line) => line.reqId === reqId)).toEqual(lines);
    const everything = harness.rawLogs.join('');
    for (const secret of ['jira-secret', 'datadog-secret', 'sonar-secret', ...Object.values(headers).slice(1)]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('logs one line per webhook: method, route, status, response time, source, outcome', async () => {
    const since = harness.logs.length;
    const { task_id } = await publish('jira', fixture('jira-issue_created-1.json'));
    const ignored = await harness.post('sonar', fixture('sonar-qualitygate-OK-1.json'));
    const unsigned = await harness.post('datadog', '{}', { 'content-type': 'application/json' });
    const tooLarge = await harness.post('jira', Buffer.alloc(2 * 1024 * 1024, 'x'));
    const lines = await waitFor(() => {
      const logged = harness.logs.slice(since);
      return logged.length >= 4 ? logged : undefined;
    });
    expect([ignored.statusCode, unsigned.statusCode, tooLarge.statusCode]).toEqual([200, 401, 413]);
    expect(lines).toHaveLength(4);
    const common = { method: 'POST', response_time_ms: expect.any(Number), reqId: expect.anything() };
    expect(lines).toEqual([
      expect.objectContaining({
        ...common,
        level: 'info',
        msg: 'task published',
        route: '/webhooks/jira',
        status: 202,
        source: 'jira',
        outcome: 'published',
        task_id,
        external_id: JIRA_CREATED_TASK.external_id,
      }),
      expect.objectContaining({
        ...common,
        level: 'info',
        msg: 'webhook ignored',
        route: '/webhooks/sonar',
        status: 200,
        source: 'sonarcloud',
        outcome: 'ignored',
        reason: expect.stringContaining('quality gate passed'),
      }),
      expect.objectContaining({
        ...common,
        level: 'warn',
        msg: 'webhook authentication failed',
        route: '/webhooks/datadog',
        status: 401,
        source: 'datadog',
        outcome: 'unauthorized',
      }),
      expect.objectContaining({
        ...common,
        level: 'info',
        msg: 'webhook refused',
        route: '/webhooks/jira',
        status: 413,
        source: 'jira',
        outcome: 'too_large',
        code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      }),
    ]);
  });

  it('counts requests by source and outcome and reports the broker connection', async () => {
    await harness.post('sonar', fixture('sonar-qualitygate-OK-1.json'));
    await harness.post('jira', fixture('jira-issue_created-1.json'), { 'content-type': 'application/json' });
    const metrics = (await harness.metricsApp.inject('/metrics')).body;
    expect(metrics).toMatch(/^anton_ingester_webhooks_total\{source="sonarcloud",outcome="ignored"\} [1-9]/m);
    expect(metrics).toMatch(/^anton_ingester_webhooks_total\{source="jira",outcome="unauthorized"\} 1$/m);
    expect(metrics).toMatch(/^anton_ingester_webhooks_total\{source="jira",outcome="duplicate"\} 2$/m);
    expect(metrics).toMatch(/^anton_ingester_publish_duration_seconds_count\{outcome="confirmed"\} [1-9]/m);
    expect(metrics).toMatch(/^anton_ingester_broker_connected 1$/m);
  });

  it('serves /metrics only on the metrics port, not where webhooks arrive', async () => {
    expect((await harness.app.inject('/metrics')).statusCode).toBe(404);
    expect((await harness.metricsApp.inject('/metrics')).statusCode).toBe(200);
  });

  it('reports healthy and ready while the broker is connected', async () => {
    expect((await harness.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await harness.app.inject('/readyz')).json()).toEqual({ status: 'ready', rabbitmq: 'ok' });
    expect((await harness.app.inject('/health')).json()).toEqual({ status: 'ok', rabbitmq: 'ok' });
  });
});
