import { ANNOTATIONS, LABELS, RunnerResult, type TaskOutcome } from '@anton/contracts';
import { kubernetesStatusFault, type ScriptedReply, waitFor } from '@anton/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Pipeline } from '../src/harness/pipeline.ts';
import { jiraIssueCreated } from '../src/harness/sample-webhooks.ts';
import { scriptedAnthropic } from '../src/harness/scripted-llm.ts';

// The whole pipeline, runner pods included, while Kubernetes, Claude, OpenAI and GitHub misbehave
// (the fakes inject the faults). Each case is one Jira issue of its own and ends in the documented
// outcome: retried to success, routed by the rules, or retried by its Job; never a second Job or a
// second pull request, and no service stops.
let pipeline: Pipeline;
let issue = 7000;

beforeAll(async () => {
  pipeline = await Pipeline.start({ label: 'chaos-deps' });
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

/** A new Jira issue about the sample bug: its number and the task id the ingester gave it. */
async function reportIssue(): Promise<{ taskId: string; branch: string }> {
  issue += 1;
  const reply = await pipeline.postWebhook('jira', jiraIssueCreated(issue));
  expect(reply.status, JSON.stringify(reply.body)).toBe(202);
  return { taskId: String(reply.body.task_id), branch: `fix/SHOP-${issue}` };
}

/** The task's `task.completed`, once its Job has ended and the orchestrator decided its outcome. */
function outcomeOf(taskId: string): Promise<TaskOutcome> {
  return waitFor(() => (pipeline.outcomes.bodies() as TaskOutcome[]).find((outcome) => outcome.task_id === taskId), {
    timeoutMs: 90_000,
    intervalMs: 100,
    what: `the outcome of ${taskId}`,
  });
}

function jobsOf(taskId: string) {
  return pipeline.runnerJobs().filter((job) => job.metadata.labels?.[LABELS.taskId] === taskId);
}

function pullsOf(branch: string) {
  return pipeline.github.pulls('acme', 'sample-shop').filter((pull) => pull.head === branch);
}

/** The one ending every case must reach: one Job, one pull request, outcome pr_opened. */
async function expectFixedOnce(taskId: string, branch: string): Promise<TaskOutcome> {
  const outcome = await outcomeOf(taskId);
  expect(outcome, JSON.stringify(outcome)).toMatchObject({ status: 'pr_opened' });
  expect(jobsOf(taskId)).toHaveLength(1);
  expect(pullsOf(branch)).toHaveLength(1);
  const outcomes = (pipeline.outcomes.bodies() as TaskOutcome[]).filter((o) => o.task_id === taskId);
  expect(outcomes).toHaveLength(1);
  return outcome;
}

describe('Kubernetes API faults', () => {
  it('500 on the Job create, twice: retried, one Job', async () => {
    const before = pipeline.kubernetes.received(JOBS, 'POST').length;
    pipeline.kubernetes.inject(kubernetesStatusFault(500, 'InternalError', 'etcdserver: request timed out'), {
      times: 2,
      method: 'POST',
      path: JOBS,
    });
    const { taskId, branch } = await reportIssue();
    await expectFixedOnce(taskId, branch);
    expect(pipeline.kubernetes.received(JOBS, 'POST').length - before).toBe(3);
  });

  it('429 with retry-after on the ConfigMap creates: waited for, one Job', async () => {
    pipeline.kubernetes.inject(kubernetesStatusFault(429, 'TooManyRequests', 'too many requests', 1), {
      times: 2,
      method: 'POST',
      path: CONFIG_MAPS,
    });
    const before = pipeline.kubernetes.received(CONFIG_MAPS, 'POST').length;
    const { taskId, branch } = await reportIssue();
    await expectFixedOnce(taskId, branch);
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
    const { taskId, branch } = await reportIssue();
    await expectFixedOnce(taskId, branch);
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
    const { taskId, branch } = await reportIssue();
    await expectFixedOnce(taskId, branch);
  });

  it('dropped watch streams while the Job runs: its end is still seen, once', async () => {
    const { taskId, branch } = await reportIssue();
    await waitFor(() => jobsOf(taskId)[0], { timeoutMs: 20_000, what: 'the Job' });
    const dropping = setInterval(() => pipeline.kubernetes.dropWatches(), 300);
    try {
      await expectFixedOnce(taskId, branch);
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
    const { taskId, branch } = await reportIssue();
    const outcome = await expectFixedOnce(taskId, branch);
    expect(outcome.routed_by).toBe('rules');
    expect(jobsOf(taskId)[0]?.metadata.annotations?.[ANNOTATIONS.routedBy]).toBe('rules');
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
      const { taskId, branch } = await reportIssue();
      const outcome = await expectFixedOnce(taskId, branch);
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
      const { taskId, branch } = await reportIssue();
      const outcome = await expectFixedOnce(taskId, branch);
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
    const { taskId, branch } = await reportIssue();
    await expectFixedOnce(taskId, branch);
    expect(pipeline.openai.requests.length - before).toBe(3);
  });
});

describe('GitHub faults', () => {
  it('502 on every pull request create of the first pod: that run fails with the reason, its Job retries, one PR', async () => {
    pipeline.github.inject(
      { kind: 'status', status: 502, body: { message: 'Server Error' } },
      { times: 3, method: 'POST', path: '/repos/acme/sample-shop/pulls' },
    );
    const { taskId, branch } = await reportIssue();
    await expectFixedOnce(taskId, branch);
    const runs = pipeline.kubelet?.runsFor(taskId) ?? [];
    expect(runs.map((run) => run.exitCode)).toEqual([1, 0]);
    const first = RunnerResult.parse(JSON.parse(runs[0]?.terminationMessage ?? ''));
    expect(first).toMatchObject({ status: 'failed', reason: expect.stringMatching(/502|Server Error/) });
  });
});
