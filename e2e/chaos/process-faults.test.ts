import { runGit, type ScriptedReply, waitFor } from '@anton/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PodRun } from '../src/harness/kubelet.ts';
import { Pipeline } from '../src/harness/pipeline.ts';
import { scriptedAnthropic } from '../src/harness/scripted-llm.ts';
import { type BrokerRoutes, routeBrokerThroughProxies } from './support/broker-routes.ts';
import { JiraIncidents } from './support/jira-incidents.ts';

// Processes die at the worst moments: the orchestrator with SIGKILL between the Job and its
// ConfigMap, and between both and the ack of the message; the runner in the middle of its session
// and after its push. After a restart (the orchestrator by its Deployment, the runner by its Job's
// backoffLimit) each task has exactly one Job and at most one pull request.
// Each case waits for pods to run to their end, some twice: more than the default 30 s under load.
vi.setConfig({ testTimeout: 180_000 });

let pipeline: Pipeline;
let routes: BrokerRoutes;
let incidents: JiraIncidents;

beforeAll(async () => {
  // A report attempt outlasts the hung JIRA comment of that case, so it is not retried before the kill.
  pipeline = await Pipeline.start({
    label: 'chaos-proc',
    orchestratorEnv: { REPORT_TIMEOUT_MS: '120000' },
  });
  routes = await routeBrokerThroughProxies(pipeline);
  incidents = new JiraIncidents(pipeline, 8000);
}, 120_000);
afterEach(async () => {
  await pipeline.kubelet?.idle();
  pipeline.kubernetes.clearFaults();
  pipeline.github.clearFaults();
  expect(pipeline.anthropic.failures).toEqual([]);
  expect(pipeline.orchestrator.exit).toBeUndefined();
});
afterAll(async () => {
  await pipeline?.close();
  await routes?.close();
});

const CONFIG_MAPS = /^\/api\/v1\/namespaces\/agents\/configmaps$/;
const routerCalls = () =>
  pipeline.anthropic.received('/v1/messages').filter((request) => {
    const body = request.json as { tool_choice?: { type?: string } } | undefined;
    return body?.tool_choice?.type === 'tool';
  }).length;

/** Resolves the test's hold on a scripted reply. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('the orchestrator killed (SIGKILL) and restarted', () => {
  it('between creating the Job and its ConfigMap: one Job, its ConfigMap, one pull request', async () => {
    // The router's answer is held so the dedup claim (a ConfigMap too) is made before the fault is armed.
    const calls = routerCalls();
    pipeline.anthropic.slowAnswer(1_500);
    const reported = await incidents.report();
    await waitFor(() => routerCalls() > calls, { what: 'the router call' });
    const posts = pipeline.kubernetes.received(CONFIG_MAPS, 'POST').length;
    pipeline.kubernetes.inject({ kind: 'delay', ms: 60_000 }, { times: 1, method: 'POST', path: CONFIG_MAPS });
    await waitFor(() => pipeline.job(reported.taskId), { what: 'the Job' });
    await waitFor(() => pipeline.kubernetes.received(CONFIG_MAPS, 'POST').length > posts, {
      what: 'the ConfigMap create to be on its way',
    });

    await pipeline.orchestrator.kill();
    expect(pipeline.contextConfigMap(reported.taskId)).toBeUndefined();
    await pipeline.startOrchestrator();

    await incidents.expectFixedOnce(reported);
    const job = pipeline.job(reported.taskId);
    expect(pipeline.contextConfigMap(reported.taskId)?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Job', name: job?.metadata.name, uid: job?.metadata.uid }),
    ]);
    expect(pipeline.orchestrator.linesFor(reported.taskId).map((line) => line.msg)).toContain('Job exists');
  });

  it('after creating both, before acknowledging the message: one Job, one pull request', async () => {
    const calls = routerCalls();
    pipeline.anthropic.slowAnswer(1_500);
    const reported = await incidents.report();
    await waitFor(() => routerCalls() > calls, { what: 'the router call' });
    // From here nothing the orchestrator sends reaches RabbitMQ: its ack is held, then lost with it.
    routes.orchestrator.stall('to-target');
    const killed = pipeline.orchestrator;
    await killed.waitForLine((line) => line.task_id === reported.taskId && line.msg === 'Job created', {
      what: 'the Job and its ConfigMap',
    });
    expect(pipeline.contextConfigMap(reported.taskId)).toBeDefined();
    await killed.kill();
    await routes.orchestrator.restore();
    await pipeline.startOrchestrator();

    await pipeline.orchestrator.waitForLine((line) => line.task_id === reported.taskId && line.msg === 'Job exists', {
      timeoutMs: 30_000,
      what: 'the unacknowledged message to come back',
    });
    await incidents.expectFixedOnce(reported);
  });
});

describe('the orchestrator killed while it reports an outcome', () => {
  it('the restarted orchestrator gets the unacknowledged report from its queue and delivers it; the outcome is not published again', async () => {
    const reported = await incidents.report();
    const issue = reported.branch.replace('fix/', '');
    pipeline.jira.addIssue(issue);
    const comments = `/rest/api/2/issue/${issue}/comment`;
    // The JIRA comment hangs (longer than the test) after the outcome was handed over.
    pipeline.jira.inject({ kind: 'delay', ms: 100_000 }, { times: 1, method: 'POST', path: comments });
    await incidents.expectFixedOnce(reported);
    await waitFor(() => pipeline.job(reported.taskId)?.metadata.labels?.['anton.dev/result'] === 'pr_opened', {
      what: 'the outcome handed over and recorded on the Job',
    });
    await waitFor(() => pipeline.jira.received(comments, 'POST').length === 1, { what: 'the comment on its way' });

    await pipeline.orchestrator.kill();
    await pipeline.startOrchestrator();
    await waitFor(() => pipeline.jira.comments(issue).length === 1, {
      timeoutMs: 30_000,
      what: 'the comment, from the restarted orchestrator (the report was never acked)',
    });
    expect(pipeline.jira.comments(issue)[0]?.text).toContain(`${pipeline.gitServer.url}/acme/sample-shop/pull/`);
    expect(incidents.outcomes(reported.taskId)).toHaveLength(1); // not published again: the Job says it was
    expect(pipeline.orchestrator.lines.map((line) => line.msg)).toContain('report delivered');
  });
});

describe('the runner killed and run again by its Job', () => {
  /** The runs of the task's pods once two have ended: the killed one and its replacement. */
  async function twoRuns(taskId: string): Promise<PodRun[]> {
    const runs = await waitFor(
      () => {
        const found = pipeline.kubelet?.runsFor(taskId) ?? [];
        return found.length === 2 ? found : undefined;
      },
      { timeoutMs: 60_000, what: 'the second pod' },
    );
    await Promise.all(runs.map((run) => run.done));
    return runs;
  }

  it('in the middle of its coder session: the next pod fixes it, one pull request', async () => {
    const scripted = scriptedAnthropic();
    const hold = gate();
    let held = false;
    pipeline.anthropic.setHandler(async (request, recorded) => {
      const coderTurn = request.messages.filter((message) => message.role === 'assistant').length;
      if (request.tool_choice?.type !== 'tool' && coderTurn === 2 && !held) {
        held = true;
        await hold.opened;
      }
      return scripted(request, recorded) as ScriptedReply;
    });
    try {
      const reported = await incidents.report();
      await waitFor(() => held, { timeoutMs: 30_000, what: 'the coder session to reach its third turn' });
      const [first] = pipeline.kubelet?.runsFor(reported.taskId) ?? [];
      await first?.agent?.process.kill();
      hold.open();

      await incidents.expectFixedOnce(reported);
      const runs = await twoRuns(reported.taskId);
      expect(runs.map((run) => run.exitCode === 0)).toEqual([false, true]);
    } finally {
      hold.open();
      pipeline.anthropic.setHandler(scripted);
    }
  });

  it('after its push, before the pull request: the next pod opens exactly one', async () => {
    const list = '/repos/acme/sample-shop/pulls';
    const lists = pipeline.github.received(list, 'GET').length;
    pipeline.github.inject({ kind: 'delay', ms: 60_000 }, { times: 1, method: 'GET', path: list });
    const reported = await incidents.report();
    await waitFor(() => pipeline.github.received(list, 'GET').length > lists, {
      timeoutMs: 30_000,
      what: 'the runner to look for its pull request',
    });
    const pushed = await runGit(['--git-dir', pipeline.sample.bareDir, 'rev-parse', `refs/heads/${reported.branch}`]);
    expect(pushed.trim()).toMatch(/^[0-9a-f]{40}$/);
    const [first] = pipeline.kubelet?.runsFor(reported.taskId) ?? [];
    await first?.agent?.process.kill();

    await incidents.expectFixedOnce(reported);
    const runs = await twoRuns(reported.taskId);
    expect(runs.map((run) => run.exitCode === 0)).toEqual([false, true]);
  });
});
