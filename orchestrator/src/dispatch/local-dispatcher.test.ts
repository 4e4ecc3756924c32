import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type RouterPlan, RunnerContext } from '@anton/contracts';
import { waitFor } from '@anton/testing';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTask } from '../../test/tasks.ts';
import { Capacity } from '../capacity.ts';
import { PermanentError } from '../errors.ts';
import type { FinishedTask } from '../outcomes/finished-task.ts';
import { DEFAULT_BUDGET } from '../task-budget.ts';
import type { DispatchRequest } from './dispatcher.ts';
import { LocalDispatcher, type LocalDispatcherOptions } from './local-dispatcher.ts';

const standIn = fileURLToPath(new URL('../../test/stand-in-runner', import.meta.url));
const plan: RouterPlan = {
  template_id: 'python-backend',
  complexity: 'low',
  required_skills: [],
  context_summary: 'x',
};

let records: string;
let logLines: Array<Record<string, unknown>>;
let capacity: Capacity;
let dispatcher: LocalDispatcher;

const dispatchers: LocalDispatcher[] = [];
const track = (made: LocalDispatcher): LocalDispatcher => {
  dispatchers.push(made);
  return made;
};
function options(): LocalDispatcherOptions {
  return {
    runnerDir: standIn,
    keys: { anthropic: 'sk-ant-secret', openai: 'sk-openai-secret', github: 'ghp_secret' },
    upstreams: { ANTHROPIC_BASE_URL: 'http://127.0.0.1:1/fake-anthropic' },
    budget: DEFAULT_BUDGET,
    path: '/usr/bin:/bin',
    capacity,
    logger: logger(),
  };
}

function logger() {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  return pino({ level: 'info' }, sink).child({ task_id: 'parent-bound' });
}

beforeEach(async () => {
  records = await mkdtemp(join(tmpdir(), 'stand-in-records-'));
  logLines = [];
  capacity = new Capacity(5);
  dispatcher = track(new LocalDispatcher(options()));
});
afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map((d) => d.close()));
  await rm(records, { recursive: true, force: true });
});

function request(labels: Record<string, string> = {}): DispatchRequest {
  const task = makeTask({ labels: { 'stand-in-record-dir': records, ...labels } });
  return {
    task,
    plan,
    routedBy: 'rules',
    dedupHash: 'a'.repeat(63),
    repository: { url: 'https://github.com/acme/orders.git', baseBranch: 'develop', resolvedBy: 'jira-project' },
  };
}

const recordOf = async (taskId: string) => JSON.parse(await readFile(join(records, `${taskId}.json`), 'utf8'));

describe('LocalDispatcher', () => {
  it("starts the proxy with the keys and the runner with a pod's agent env and no secret", async () => {
    const req = request();
    const result = await dispatcher.dispatch(req, logger());
    expect(result).toEqual({ runnerName: `agent-job-${req.task.task_id}`, created: true });
    await waitFor(async () => (await dispatcher.status(req.task.task_id)) === 'done', { what: 'the runner' });

    const record = await recordOf(req.task.task_id);
    const proxyPort = new URL(record.env.CREDENTIAL_PROXY_URL).port;
    expect(record.env).toEqual({
      PATH: '/usr/bin:/bin',
      TASK_ID: req.task.task_id,
      TEMPLATE_ID: 'python-backend',
      COMPLEXITY: 'low',
      CONTEXT_PATH: expect.stringMatching(/\/context\/task\.json$/),
      WORK_DIR: expect.stringMatching(/\/workspace$/),
      HOME: expect.stringMatching(/\/home$/),
      CREDENTIAL_PROXY_URL: `http://127.0.0.1:${proxyPort}`,
      TERMINATION_LOG: expect.stringMatching(/\/termination-log$/),
    });
    expect(JSON.stringify(record.env)).not.toMatch(/secret/);
    expect(record.argv).toEqual([process.execPath, join(standIn, 'src', 'main.ts')]);
    expect(record.cwd).toBe(standIn);
    expect(record.proxy.path).toBe('/anthropic/v1/messages');
    expect(record.proxy.env).toEqual({
      PATH: '/usr/bin:/bin',
      TASK_ID: req.task.task_id,
      PROXY_PORT: proxyPort,
      ALLOWED_REPOSITORY: 'https://github.com/acme/orders.git',
      TASK_BUDGET_USD: '1.5', // $3 at low complexity
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:1/fake-anthropic',
      ANTHROPIC_API_KEY: 'sk-ant-secret',
      OPENAI_API_KEY: 'sk-openai-secret',
      GITHUB_TOKEN: 'ghp_secret',
    });

    const context = RunnerContext.parse(record.context);
    expect(context).toMatchObject({
      repo_url: 'https://github.com/acme/orders.git',
      base_branch: 'develop',
      issue_id: 'ORD-42',
      plan,
      routed_by: 'rules',
      task: req.task,
    });
    expect(context.task_description).toContain(req.task.title);
  });

  it("logs the children's output with the task id and reports the result", async () => {
    const req = request();
    await dispatcher.dispatch(req, logger().child({ task_id: req.task.task_id }));
    await waitFor(() => logLines.find((l) => l.msg === 'local runner finished'), { what: 'the end' });
    const output = logLines.find((l) => l.process === 'runner' && String(l.line).includes('stand-in runner done'));
    expect(output?.task_id).toBe(req.task.task_id);
    expect(logLines.find((l) => l.msg === 'local runner finished')).toMatchObject({
      task_id: req.task.task_id,
      status: 'pr_opened',
      pr_url: 'https://github.com/acme/orders/pull/42',
    });
  });

  it('tells the outcome of each run once, from the exit and the result file', async () => {
    const ended: FinishedTask[] = [];
    const reporting = track(new LocalDispatcher({ ...options(), onFinished: (finished) => ended.push(finished) }));
    const opened = request();
    const unchanged = request({ 'stand-in-exit-code': '2', 'stand-in-status': 'no_changes' });
    const crashed = request({ 'stand-in-exit-code': '1' });
    for (const req of [opened, unchanged, crashed]) await reporting.dispatch(req, logger());
    await waitFor(() => ended.length === 3, { what: 'three outcomes' });
    const byTask = (req: DispatchRequest) => ended.find((f) => f.outcome.task_id === req.task.task_id);
    expect(byTask(opened)).toEqual({
      outcome: {
        task_id: opened.task.task_id,
        source: 'jira',
        external_id: 'ORD-42',
        status: 'pr_opened',
        template_id: 'python-backend',
        routed_by: 'rules',
        pr_url: 'https://github.com/acme/orders/pull/42',
        usage: expect.objectContaining({ coder: expect.objectContaining({ input_tokens: 1000 }) }),
        cost_usd: 0,
        finished_at: expect.any(String),
        // What the reporters need travels in the outcome message (task.completed).
        title: opened.task.title,
        url: opened.task.url,
        labels: opened.task.labels,
        dedup_hash: 'a'.repeat(63),
      },
      title: opened.task.title,
      url: opened.task.url,
      labels: opened.task.labels,
      dedupHash: 'a'.repeat(63),
    });
    expect(byTask(unchanged)?.outcome).toMatchObject({ status: 'no_changes', reason: 'stand-in no_changes' });
    expect(byTask(crashed)?.outcome).toMatchObject({ status: 'failed', reason: 'stand-in failed' });
    expect(await reporting.status(unchanged.task.task_id)).toBe('done');
    expect(await reporting.status(crashed.task.task_id)).toBe('failed');
  });

  it('counts its children in the capacity, and a failed exit as failed', async () => {
    const release = join(records, 'release');
    const held = request({ 'stand-in-release-file': release, 'stand-in-exit-code': '1' });
    await dispatcher.dispatch(held, logger());
    expect(capacity.used).toBe(1);
    expect(await dispatcher.status(held.task.task_id)).toBe('active');
    await writeFile(release, '');
    await waitFor(async () => (await dispatcher.status(held.task.task_id)) === 'failed', { what: 'the failure' });
    expect(capacity.used).toBe(0);
  });

  it('never starts a second runner for one task', async () => {
    const release = join(records, 'release');
    const req = request({ 'stand-in-release-file': release });
    await dispatcher.dispatch(req, logger());
    expect(await dispatcher.dispatch(req, logger())).toMatchObject({ created: false });
    await writeFile(release, '');
  });

  it('fails retryably when the proxy exits at start, saying what it said', async () => {
    const broken = join(records, 'broken-runner');
    await mkdir(join(broken, 'src', 'credential-proxy'), { recursive: true });
    await writeFile(
      join(broken, 'src', 'credential-proxy', 'main.ts'),
      "console.error('invalid configuration: GITHUB_TOKEN: required');\nprocess.exit(1);\n",
    );
    const dispatcherWithBrokenProxy = new LocalDispatcher({
      runnerDir: broken,
      keys: {},
      upstreams: {},
      budget: DEFAULT_BUDGET,
      path: '/usr/bin:/bin',
      capacity,
      logger: logger(),
    });
    await expect(dispatcherWithBrokenProxy.dispatch(request(), logger())).rejects.toThrow(
      /the credential proxy exited \(1\) before listening: invalid configuration: GITHUB_TOKEN: required/,
    );
  });

  it('dead-letters at once when the proxy refuses its configuration (exit 2), saying why', async () => {
    const refusing = join(records, 'refusing-runner');
    await mkdir(join(refusing, 'src', 'credential-proxy'), { recursive: true });
    await writeFile(
      join(refusing, 'src', 'credential-proxy', 'main.ts'),
      "console.error('invalid configuration: GITHUB_TOKEN: required: the credential proxy holds the GitHub token');\nprocess.exit(2);\n",
    );
    const dispatcherWithRefusingProxy = new LocalDispatcher({
      runnerDir: refusing,
      keys: {},
      upstreams: {},
      budget: DEFAULT_BUDGET,
      path: '/usr/bin:/bin',
      capacity,
      logger: logger(),
    });
    const failure = dispatcherWithRefusingProxy.dispatch(request(), logger());
    await expect(failure).rejects.toBeInstanceOf(PermanentError);
    await expect(failure).rejects.toThrow(
      /cannot start the local runner: the credential proxy exited \(2\) before listening: .*GitHub token/,
    );
  });

  it('refuses to start a runner when not root: the agent would share its uid and read the keys', async () => {
    const nonRoot = track(new LocalDispatcher({ ...options(), euid: 1000 }));
    const req = request();
    const failure = nonRoot.dispatch(req, logger());
    await expect(failure).rejects.toBeInstanceOf(PermanentError);
    await expect(failure).rejects.toThrow(/not root.*LOCAL_RUNNER_UNSAFE_SHARED_UID=true/);
    expect(await nonRoot.status(req.task.task_id)).toBe('missing');
    await expect(readFile(join(records, `${req.task.task_id}.json`))).rejects.toThrow(/ENOENT/);
  });

  it('starts it when not root only with LOCAL_RUNNER_UNSAFE_SHARED_UID, warning at start and per run', async () => {
    const unsafe = track(new LocalDispatcher({ ...options(), euid: 1000, unsafeSharedUid: true }));
    expect(logLines.filter((line) => String(line.msg).startsWith('UNSAFE'))).toHaveLength(1);
    const req = request();
    await unsafe.dispatch(req, logger());
    await waitFor(async () => (await unsafe.status(req.task.task_id)) === 'done', { what: 'the runner' });
    expect(logLines.filter((line) => String(line.msg).startsWith('UNSAFE'))).toHaveLength(2);
    expect((await recordOf(req.task.task_id)).env.LOCAL_RUNNER_UNSAFE_SHARED_UID).toBe('true');
  });

  it('fails retryably when the proxy cannot start', async () => {
    const broken = new LocalDispatcher({
      runnerDir: join(records, 'no-runner-here'),
      keys: {},
      upstreams: {},
      budget: DEFAULT_BUDGET,
      path: '/usr/bin:/bin',
      capacity,
      logger: logger(),
    });
    await expect(broken.dispatch(request(), logger())).rejects.toThrow(/cannot start the local runner/);
    expect(capacity.used).toBe(0);
  });
});
