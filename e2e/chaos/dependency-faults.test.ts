import { randomUUID } from 'node:crypto';
import { ANNOTATIONS, DEAD_LETTER_QUEUE, EXCHANGE, HEADERS, RunnerResult, TASK_CREATED } from '@anton/contracts';
import { kubernetesStatusFault, type ScriptedReply, waitFor } from '@anton/testing';
import amqp from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Pipeline } from '../src/harness/pipeline.ts';
import { scriptedAnthropic } from '../src/harness/scripted-llm.ts';
import { JiraIncidents } from './support/jira-incidents.ts';

// The whole pipeline, runner pods included, while Kubernetes, Claude, OpenAI and GitHub misbehave
// (the fakes inject the faults). Each case is one Jira issue of its own and ends in the documented
// outcome: retried to success, routed by the rules, or retried by its Job; never a second Job or a
// second pull request, and no service stops.
// Each case waits for pods to run to their end, some twice: more than the default 30 s under load.
vi.setConfig({ testTimeout: 180_000 });

let pipeline: Pipeline;
let incidents: JiraIncidents;

beforeAll(async () => {
  pipeline = await Pipeline.start({ label: 'chaos-deps' });
  incidents = new JiraIncidents(pipeline, 7000);
}, 120_000);
afterEach(async () => {
  await pipeline.kubelet?.idle();
  pipeline.kubernetes.clearFaults();
  pipeline.anthropic.clearFaults();
  pipeline.openai.clearFaults();
  pipeline.github.clearFaults();
  expect(pipeline.anthropic.failures).toEqual([]);
  expect(pipeline.openai.failures).toEqual([]);
  expect(pipeline.ingester.exit).toBeUndefined();
  expect(pipeline.orchestrator.exit).toBeUndefined();
});
afterAll(() => pipeline?.close());

const JOBS = /^\/apis\/batch\/v1\/namespaces\/agents\/jobs$/;
const CONFIG_MAPS = /^\/api\/v1\/namespaces\/agents\/configmaps$/;

describe('Kubernetes API faults', () => {
  it('500 on the Job create, twice: retried, one Job', async () => {
    const before = pipeline.kubernetes.received(JOBS, 'POST').length;
    pipeline.kubernetes.inject(kubernetesStatusFault(500, 'InternalError', 'etcdserver: request timed out'), {
      times: 2,
      method: 'POST',
      path: JOBS,
    });
    const reported = await incidents.report();
    await incidents.expectFixedOnce(reported);
    expect(pipeline.kubernetes.received(JOBS, 'POST').length - before).toBe(3);
  });

  it('429 with retry-after on the ConfigMap creates: waited for, one Job', async () => {
    pipeline.kubernetes.inject(kubernetesStatusFault(429, 'TooManyRequests', 'too many requests', 1), {
      times: 2,
      method: 'POST',
      path: CONFIG_MAPS,
    });
    const before = pipeline.kubernetes.received(CONFIG_MAPS, 'POST').length;
    const reported = await incidents.report();
    await incidents.expectFixedOnce(reported);
    // The dedup claim and the context ConfigMap, plus the two refused attempts.
    expect(pipeline.kubernetes.received(CONFIG_MAPS, 'POST').length - before).toBe(4);
  });

  it('409 for a Job that is then not there: the message is retried, one Job', async () => {
    const before = pipeline.kubernetes.received(JOBS, 'POST').length;
    pipeline.kubernetes.inject(kubernetesStatusFault(409, 'AlreadyExists', 'jobs.batch already exists'), {
      times: 1,
      method: 'POST',
      path: JOBS,
    });
    const reported = await incidents.report();
    const { taskId } = reported;
    await incidents.expectFixedOnce(reported);
    expect(pipeline.kubernetes.received(JOBS, 'POST').length - before).toBe(2);
    expect(pipeline.orchestrator.linesFor(taskId).map((line) => line.msg)).toContain(
      'task failed, republishing for another attempt',
    );
  });

  it('slow answers (3 s on every create): one Job', async () => {
    pipeline.kubernetes.inject(
      { kind: 'delay', ms: 3_000 },
      { times: 4, method: 'POST', path: /\/(jobs|configmaps)$/ },
    );
    const reported = await incidents.report();
    await incidents.expectFixedOnce(reported);
  });

  it('dropped watch streams while the Job runs: its end is still seen, once', async () => {
    const reported = await incidents.report();
    const { taskId } = reported;
    await waitFor(() => incidents.jobsOf(taskId)[0], { timeoutMs: 20_000, what: 'the Job' });
    const dropping = setInterval(() => pipeline.kubernetes.dropWatches(), 300);
    try {
      await incidents.expectFixedOnce(reported);
    } finally {
      clearInterval(dropping);
    }
    await waitFor(async () => /^anton_orchestrator_active_jobs 0$/m.test(await pipeline.metrics()), {
      timeoutMs: 20_000,
      what: 'the active Job count back to 0',
    });
  });
});

describe('LLM faults', () => {
  it('Claude overloaded (529) for the router: planned by the rules, fixed once', async () => {
    pipeline.anthropic.overloaded(3);
    const reported = await incidents.report();
    const { taskId } = reported;
    const outcome = await incidents.expectFixedOnce(reported);
    expect(outcome.routed_by).toBe('rules');
    expect(incidents.jobsOf(taskId)[0]?.metadata.annotations?.[ANNOTATIONS.routedBy]).toBe('rules');
    expect(await pipeline.metrics()).toMatch(
      /^anton_orchestrator_routing_fallbacks_total\{reason="unavailable"\} [1-9]/m,
    );
  });

  /** The router's next `count` answers break its schema (its tool is not strict, so Claude may). */
  function malformRoutingReplies(count: number): { malformed: () => number; restore: () => void } {
    const scripted = scriptedAnthropic();
    let malformed = 0;
    pipeline.anthropic.setHandler((request, recorded) => {
      if (request.tool_choice?.type === 'tool' && malformed < count) {
        malformed += 1;
        const input = { template_id: 'cobol-mainframe', complexity: 'banana', required_skills: 'all of them' };
        return { content: [{ type: 'tool_use', name: 'route_task', input }] } satisfies ScriptedReply;
      }
      return scripted(request, recorded);
    });
    return { malformed: () => malformed, restore: () => pipeline.anthropic.setHandler(scripted) };
  }

  it('a malformed routing reply: Claude is asked once more and its plan used, fixed once', async () => {
    const script = malformRoutingReplies(1);
    try {
      const reported = await incidents.report();
      const { taskId } = reported;
      const outcome = await incidents.expectFixedOnce(reported);
      expect(script.malformed()).toBe(1);
      expect(outcome.routed_by).toBe('llm');
      expect(pipeline.orchestrator.linesFor(taskId).map((line) => line.msg)).toContain(
        'router answer invalid, asking once more',
      );
    } finally {
      script.restore();
    }
  });

  it('malformed twice: planned by the rules, fixed once', async () => {
    const script = malformRoutingReplies(2);
    try {
      const reported = await incidents.report();
      const outcome = await incidents.expectFixedOnce(reported);
      expect(script.malformed()).toBe(2);
      expect(outcome.routed_by).toBe('rules');
      expect(await pipeline.metrics()).toMatch(
        /^anton_orchestrator_routing_fallbacks_total\{reason="invalid_answer"\} [1-9]/m,
      );
    } finally {
      script.restore();
    }
  });

  it('OpenAI 500 during the review: retried, fixed once', async () => {
    const before = pipeline.openai.requests.length;
    pipeline.openai.serverError(2);
    const reported = await incidents.report();
    await incidents.expectFixedOnce(reported);
    expect(pipeline.openai.requests.length - before).toBe(3);
  });
});

describe('GitHub faults', () => {
  it('502 on every pull request create of the first pod: that run fails with the reason, its Job retries, one PR', async () => {
    pipeline.github.inject(
      { kind: 'status', status: 502, body: { message: 'Server Error' } },
      { times: 3, method: 'POST', path: '/repos/acme/sample-shop/pulls' },
    );
    const reported = await incidents.report();
    const { taskId } = reported;
    await incidents.expectFixedOnce(reported);
    const runs = pipeline.kubelet?.runsFor(taskId) ?? [];
    expect(runs.map((run) => run.exitCode)).toEqual([1, 0]);
    const first = RunnerResult.parse(JSON.parse(runs[0]?.terminationMessage ?? ''));
    expect(first).toMatchObject({ status: 'failed', reason: expect.stringMatching(/502|Server Error/) });
  });
});

describe('poison messages on the task queue (from a publisher other than the ingester)', () => {
  async function publishRaw(body: string, messageId: string): Promise<void> {
    const connection = await amqp.connect(pipeline.vhost.url);
    try {
      const channel = await connection.createConfirmChannel();
      channel.publish(EXCHANGE, TASK_CREATED, Buffer.from(body), { messageId, persistent: true });
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
  }

  it.each([
    ['not JSON', () => '{"task_id": '],
    ['not an AgentTask', () => JSON.stringify({ task_id: 'x', hello: 'world' })],
    [
      'a payload nested 100,000 levels deep',
      () =>
        `{"task_id":"${randomUUID()}","source":"jira","external_id":"POISON-1","title":"t","priority":"P3",` +
        `"created_at":"2025-01-01T00:00:00Z","raw_payload":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`,
    ],
  ])('%s: dead-lettered once with a reason, no Job, the orchestrator keeps running', async (_, body) => {
    const messageId = randomUUID();
    const jobsBefore = pipeline.runnerJobs().length;
    const lettersBefore = (await queuedDeadLetterMessages()).length;
    await publishRaw(body(), messageId);
    const letters = await waitFor(
      async () => {
        const found = await queuedDeadLetterMessages();
        return found.length > lettersBefore ? found.slice(lettersBefore) : undefined;
      },
      { timeoutMs: 30_000, what: 'the dead letter' },
    );
    expect(letters).toHaveLength(1);
    expect(letters[0]?.properties.messageId).toBe(messageId);
    expect(String(letters[0]?.properties.headers?.[HEADERS.deadLetterReason] ?? '')).not.toBe('');
    expect(pipeline.runnerJobs()).toHaveLength(jobsBefore);
  });

  /** The DLQ's messages, read without taking them. */
  async function queuedDeadLetterMessages() {
    const connection = await amqp.connect(pipeline.vhost.url);
    try {
      const channel = await connection.createChannel();
      const messages = [];
      for (;;) {
        const message = await channel.get(DEAD_LETTER_QUEUE, { noAck: false });
        if (!message) return messages;
        messages.push(message);
      }
    } finally {
      await connection.close();
    }
  }
});
