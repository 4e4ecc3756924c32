import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEAD_LETTER_QUEUE, RunnerContext, TASK_COMPLETED, TaskOutcome } from '@anton/contracts';
import { captureMessages, waitFor } from '@anton/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Pipeline } from '../test/pipeline.ts';
import { makeTask } from '../test/tasks.ts';

const standIn = fileURLToPath(new URL('../test/stand-in-runner', import.meta.url));
const pipeline = new Pipeline();
let records: string;

beforeAll(() => pipeline.setUp('orchestrator-local'));
afterAll(() => pipeline.tearDown());
beforeEach(async () => {
  await pipeline.beforeEach();
  records = await mkdtemp(join(tmpdir(), 'orchestrator-local-'));
});
afterEach(async () => {
  await pipeline.afterEach();
  await rm(records, { recursive: true, force: true });
});

const localEnv = (overrides: Record<string, string> = {}) => ({
  DISPATCHER: 'local',
  LOCAL_RUNNER_DIR: standIn,
  ANTHROPIC_API_KEY: '',
  OPENAI_API_KEY: 'sk-openai-local',
  GITHUB_TOKEN: 'ghp_local',
  PATH: '/usr/bin:/bin',
  ...overrides,
});
const recordPath = (taskId: string) => join(records, `${taskId}.json`);

describe('orchestrator with DISPATCHER=local (what pnpm dev runs)', () => {
  it('runs the runner as a child with the task.json a pod would get; routing by rules without a key', async () => {
    await pipeline.start(localEnv());
    const task = makeTask({ labels: { project: 'ORD', 'stand-in-record-dir': records } });
    await pipeline.broker.publish(task);
    await waitFor(() => existsSync(recordPath(task.task_id)), { what: 'the local runner' });

    const record = JSON.parse(await readFile(recordPath(task.task_id), 'utf8'));
    expect(record.env).toMatchObject({ TASK_ID: task.task_id, TEMPLATE_ID: 'java-backend', COMPLEXITY: 'medium' });
    expect(JSON.stringify(record.env)).not.toMatch(/ghp_local|sk-openai-local/);
    expect(record.proxy.env).toMatchObject({ GITHUB_TOKEN: 'ghp_local', OPENAI_API_KEY: 'sk-openai-local' });
    expect(RunnerContext.parse(record.context)).toMatchObject({
      repo_url: 'https://github.com/acme/orders.git',
      base_branch: 'develop',
      routed_by: 'rules',
      task,
    });
    expect(pipeline.anthropic.received('/v1/messages')).toHaveLength(0);
  });

  it('holds the second task at MAX_ACTIVE_JOBS=1 until the first runner exits, and skips duplicates', async () => {
    await pipeline.start(localEnv({ MAX_ACTIVE_JOBS: '1' }));
    const release = join(records, 'release-first');
    const first = makeTask({
      labels: { project: 'ORD', 'stand-in-record-dir': records, 'stand-in-release-file': release },
    });
    const duplicate = { ...makeTask(), dedup_key: undefined, external_id: first.external_id, labels: first.labels };
    const second = makeTask({ external_id: 'ORD-2', labels: { project: 'ORD', 'stand-in-record-dir': records } });
    await pipeline.broker.publish(first);
    await pipeline.broker.publish(duplicate);
    await pipeline.broker.publish(second);
    const metrics = async () => (await fetch(`${pipeline.orchestrator?.healthUrl}/metrics`)).text();
    await waitFor(async () => (await metrics()).includes('capacity_waits_total 1'), {
      what: 'the second task to wait',
    });
    expect(existsSync(recordPath(second.task_id))).toBe(false);

    await writeFile(release, '');
    await waitFor(() => existsSync(recordPath(second.task_id)), { what: 'the second runner' });
    expect(existsSync(recordPath(duplicate.task_id))).toBe(false);
    expect(await metrics()).toContain('anton_orchestrator_tasks_deduplicated_total{source="jira"} 1');
    expect((await pipeline.broker.count(DEAD_LETTER_QUEUE)).messageCount).toBe(0);
  });

  it("reports each local run's outcome once, through the same path as a Job's", async () => {
    const completed = await captureMessages(pipeline.vhost.url, TASK_COMPLETED);
    try {
      await pipeline.start(localEnv());
      const opened = makeTask({ labels: { project: 'ORD', 'stand-in-record-dir': records } });
      const crashed = makeTask({
        external_id: 'ORD-2',
        labels: { project: 'ORD', 'stand-in-record-dir': records, 'stand-in-exit-code': '1' },
      });
      await pipeline.broker.publish(opened);
      await pipeline.broker.publish(crashed);
      await waitFor(() => completed.messages.length === 2, { what: 'two outcome messages' });
      const outcomes = completed.bodies().map((body) => TaskOutcome.parse(body));
      expect(outcomes.find((o) => o.task_id === opened.task_id)).toMatchObject({
        status: 'pr_opened',
        pr_url: 'https://github.com/acme/orders/pull/42',
        template_id: 'java-backend',
        routed_by: 'rules',
      });
      expect(outcomes.find((o) => o.task_id === crashed.task_id)).toMatchObject({
        status: 'failed',
        reason: 'stand-in failed',
      });
      expect(completed.messages.map((m) => m.properties.messageId).sort()).toEqual(
        [opened.task_id, crashed.task_id].sort(),
      );
      const metrics = await (await fetch(`${pipeline.orchestrator?.healthUrl}/metrics`)).text();
      expect(metrics).toContain(
        'anton_llm_tokens_total{source="jira",template="java-backend",model_role="coder",kind="input"} 2000',
      );
    } finally {
      await completed.close();
    }
  });
});
