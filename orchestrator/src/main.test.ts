import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DEAD_LETTER_QUEUE, ORCHESTRATOR_QUEUE, type RouterPlan } from '@anton/contracts';
import { FakeKubernetes, promtool, waitFor } from '@anton/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Pipeline } from '../test/pipeline.ts';
import { makeTask } from '../test/tasks.ts';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const plan: RouterPlan = { template_id: 'java-backend', complexity: 'low', required_skills: [], context_summary: 'x' };

const pipeline = new Pipeline();
beforeAll(() => pipeline.setUp('orchestrator-main'));
afterAll(() => pipeline.tearDown());
beforeEach(() => pipeline.beforeEach());
afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  await pipeline.afterEach();
});

let child: ChildProcess | undefined;
let lines: Array<Record<string, unknown>>;
let stderr: string;

/** The entry point as a process of its own, configured only by its environment. */
function startMain(env: Record<string, string>): ChildProcess {
  lines = [];
  stderr = '';
  child = spawn(process.execPath, ['--conditions=source', main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      lines.push({ raw: line });
    }
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  return child;
}

const logged = (msg: string) => lines.find((line) => line.msg === msg);
const exitCode = async (process: ChildProcess) => process.exitCode ?? (await once(process, 'exit'))[0];

describe('main: the orchestrator process', () => {
  it('on SIGTERM mid-task, finishes that task (Job created, message acked), then exits 0', async () => {
    pipeline.anthropic.slowAnswer(1500).setHandler(() => ({
      content: [{ type: 'tool_use', name: 'route_task', input: plan }],
    }));
    const orchestrator = startMain(pipeline.env({ LOG_LEVEL: 'info' }));
    await waitFor(() => logged('orchestrator started'), { what: 'the start', timeoutMs: 20_000 });
    const task = makeTask();
    await pipeline.broker.publish(task);
    await waitFor(() => pipeline.anthropic.received('/v1/messages', 'POST').length === 1, { what: 'routing to begin' });

    orchestrator.kill('SIGTERM');
    expect(await exitCode(orchestrator)).toBe(0);
    expect(pipeline.kubernetes.jobs('agents').map((j) => j.metadata?.name)).toEqual([`agent-job-${task.task_id}`]);
    expect((await pipeline.broker.count(ORCHESTRATOR_QUEUE)).messageCount).toBe(0);
    expect((await pipeline.broker.count(DEAD_LETTER_QUEUE)).messageCount).toBe(0);
    expect(logged('orchestrator stopped')).toBeDefined();
    expect(lines.filter((l) => l.task_id === task.task_id).map((l) => l.msg)).toContain('Job created');
  });

  it('on SIGTERM while a task waits for a runner slot, hands its message back to the queue', async () => {
    pipeline.anthropic.setHandler(() => ({ content: [{ type: 'tool_use', name: 'route_task', input: plan }] }));
    const orchestrator = startMain(pipeline.env({ LOG_LEVEL: 'info', MAX_ACTIVE_JOBS: '1' }));
    await waitFor(() => logged('orchestrator started'), { what: 'the start', timeoutMs: 20_000 });
    const running = makeTask({ external_id: 'ORD-1' });
    const waiting = makeTask({ external_id: 'ORD-2' });
    await pipeline.broker.publish(running);
    await waitFor(() => pipeline.kubernetes.jobs('agents').length === 1, { what: 'the first Job' });
    await pipeline.broker.publish(waiting);
    await waitFor(() => logged('at the runner cap, waiting for a slot'), { what: 'the second task to wait' });

    orchestrator.kill('SIGTERM');
    expect(await exitCode(orchestrator)).toBe(0);
    const [back] = await pipeline.broker.drain(ORCHESTRATOR_QUEUE);
    expect(JSON.parse(back?.content.toString() ?? '')).toEqual(waiting);
    expect(pipeline.kubernetes.jobs('agents')).toHaveLength(1);
  });

  it('serves /metrics in a form promtool check metrics accepts, after a task went through', async () => {
    pipeline.anthropic.setHandler(() => ({ content: [{ type: 'tool_use', name: 'route_task', input: plan }] }));
    startMain(pipeline.env({ LOG_LEVEL: 'info' }));
    const started = await waitFor(() => logged('orchestrator started'), { what: 'the start', timeoutMs: 20_000 });
    await pipeline.broker.publish(makeTask());
    const scrape = async () => (await fetch(`${started.health}/metrics`)).text();
    const text = await waitFor(
      async () => {
        const body = await scrape();
        return /^anton_orchestrator_tasks_dispatched_total\{/m.test(body) ? body : undefined;
      },
      { what: 'the task to be dispatched' },
    );
    expect(text).toMatch(/^nodejs_active_handles\{/m);
    expect(await promtool.checkMetrics(text)).toEqual({ code: 0, output: '' });
  });

  it('starts with only the JIRA token set (as the secret may hold it), warning once that JIRA reporting is off', async () => {
    startMain(pipeline.env({ LOG_LEVEL: 'info', JIRA_API_TOKEN: 'atl-token', JIRA_BASE_URL: '', JIRA_EMAIL: '' }));
    await waitFor(() => logged('orchestrator started'), { what: 'the start', timeoutMs: 20_000 });
    const warnings = lines.filter((l) => String(l.msg).startsWith('JIRA reporting is off'));
    expect(warnings.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'JIRA reporting is off: JIRA_BASE_URL and JIRA_EMAIL are not set'],
    ]);
  });

  it('refuses a bad configuration with one line naming the variable', async () => {
    const orchestrator = startMain({ ...pipeline.env(), MAX_ACTIVE_JOBS: 'many' });
    expect(await exitCode(orchestrator)).toBe(1);
    expect(stderr.trim()).toMatch(/^invalid configuration: MAX_ACTIVE_JOBS: /);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses a Kubernetes older than 1.29 (no native sidecars) with one line, before consuming', async () => {
    await pipeline.kubernetes.close();
    pipeline.kubernetes = await FakeKubernetes.start({ version: { minor: '28', gitVersion: 'v1.28.9' } });
    const orchestrator = startMain(pipeline.env());
    expect(await exitCode(orchestrator)).toBe(1);
    expect(stderr.trim()).toBe(
      "Kubernetes v1.28.9 is too old: anton's runner Jobs need Kubernetes 1.29 or newer (native sidecar containers)",
    );
    expect(logged('orchestrator started')).toBeUndefined();
  });

  it('refuses a routing file with an error naming its line', async () => {
    const orchestrator = startMain({ ...pipeline.env(), ROUTING_CONFIG: fileURLToPath(import.meta.url) });
    expect(await exitCode(orchestrator)).toBe(1);
    expect(stderr).toMatch(/main\.test\.ts:\d+: /);
  });
});
