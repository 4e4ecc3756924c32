import type { RouterPlan } from '@anton/contracts';
import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryDispatcher } from '../test/memory-dispatcher.ts';
import { makeTask } from '../test/tasks.ts';
import { Capacity } from './capacity.ts';
import { Deduplicator, dedupHash, MemoryClaimStore } from './dedup.ts';
import { PermanentError, RetryableError } from './errors.ts';
import { type HandleContext, handleTask, type TaskPorts } from './handle-task.ts';
import { createMetrics } from './metrics.ts';
import type { PlanSource } from './router/route-task.ts';
import { parseRoutingConfig } from './routing-config.ts';

const routing = parseRoutingConfig(`
repositories:
  - url: https://github.com/acme/orders.git
    jira_projects: [ORD]
`);
const plan: RouterPlan = {
  template_id: 'java-backend',
  complexity: 'low',
  required_skills: [],
  context_summary: 'NPE',
};

let dispatcher: MemoryDispatcher;
let store: MemoryClaimStore;
let llmCalls: number;
let ports: TaskPorts;
const context = (overrides: Partial<HandleContext> = {}): HandleContext => ({
  logger: pino({ level: 'silent' }),
  finalAttempt: false,
  signal: new AbortController().signal,
  ...overrides,
});

beforeEach(() => {
  dispatcher = new MemoryDispatcher();
  store = new MemoryClaimStore();
  llmCalls = 0;
  const llm: PlanSource = {
    plan: async () => {
      llmCalls += 1;
      return plan;
    },
  };
  ports = {
    dedup: new Deduplicator({ store, status: (id) => dispatcher.status(id), windowMs: 86_400_000 }),
    routing,
    llm,
    dispatcher,
    capacity: new Capacity(5),
    capacityHoldMs: 60_000,
    metrics: createMetrics(),
  };
});

describe('handleTask', () => {
  it('resolves, routes and dispatches a task', async () => {
    const task = makeTask();
    expect(await handleTask(task, ports, context())).toEqual({
      kind: 'dispatched',
      runnerName: `runner-${task.task_id}`,
      created: true,
      routedBy: 'llm',
    });
    expect(dispatcher.runners.get(`runner-${task.task_id}`)).toMatchObject({
      task,
      plan,
      routedBy: 'llm',
      dedupHash: dedupHash(task),
      repository: { url: 'https://github.com/acme/orders.git', baseBranch: 'main' },
    });
  });

  it('dispatches the enriched task, on the branch the enrichment found', async () => {
    const task = makeTask();
    ports.enrich = async (t) => ({
      ...t,
      description: `${t.description}\n\nComments: …`,
      base_branch: 'hotfix/ord-42',
    });
    await handleTask(task, ports, context());
    expect(dispatcher.runners.get(`runner-${task.task_id}`)).toMatchObject({
      task: { task_id: task.task_id, description: expect.stringContaining('Comments: …') },
      repository: { baseBranch: 'hotfix/ord-42' },
    });
  });

  it('makes one runner and one routing call for ten deliveries about one incident', async () => {
    const tasks = Array.from({ length: 10 }, () => makeTask({ dedup_key: 'jira:10042' }));
    const results = [];
    for (const task of tasks) results.push(await handleTask(task, ports, context()));
    expect(results.map((r) => r.kind)).toEqual(['dispatched', ...Array(9).fill('duplicate')]);
    expect(dispatcher.runners.size).toBe(1);
    expect(llmCalls).toBe(1);
    expect((await ports.metrics.deduplicated.get()).values[0]?.value).toBe(9);
  });

  it('dispatches a redelivered task again without a second runner (its own claim)', async () => {
    const task = makeTask();
    await handleTask(task, ports, context());
    expect(await handleTask(task, ports, context())).toMatchObject({ kind: 'dispatched', created: false });
    expect(dispatcher.runners.size).toBe(1);
  });

  it('lets a new event through once the earlier runner failed', async () => {
    const first = makeTask({ dedup_key: 'k' });
    await handleTask(first, ports, context());
    dispatcher.statuses.set(first.task_id, 'failed');
    expect(await handleTask(makeTask({ dedup_key: 'k' }), ports, context())).toMatchObject({ kind: 'dispatched' });
  });

  it('dead-letters a task with no repository and releases its claim', async () => {
    const task = makeTask({ labels: { project: 'NOPE' }, external_id: 'NOPE-1' });
    expect(await handleTask(task, ports, context())).toEqual({
      kind: 'dead-letter',
      reason: 'no repository: nothing in the task or ROUTING_CONFIG names one',
      category: 'no_repository',
    });
    expect(await store.read(dedupHash(task))).toBeUndefined();
    expect(llmCalls).toBe(0);
  });

  // The attack: whoever can set a Datadog tag or a Sonar property named a repository of their own,
  // and the Job's credential proxy then sent the GitHub token there.
  it.each([
    ['a Datadog repository on another host', { source: 'datadog', repository: 'http://evil.example/x/y.git' }],
    [
      'a Datadog git.repository_url tag',
      { source: 'datadog', labels: { 'git.repository_url': 'https://evil.example/acme/orders' } },
    ],
    [
      'a Sonar property naming an unlisted GitHub repository',
      { source: 'sonarcloud', repository: 'https://github.com/mallory/loot.git' },
    ],
  ] as const)('dead-letters %s and starts nothing', async (_what, fields) => {
    const task = makeTask({ ...fields, external_id: 'ORD-1' });
    const named = task.repository ?? task.labels?.['git.repository_url'];
    expect(await handleTask(task, ports, context())).toEqual({
      kind: 'dead-letter',
      reason: `repository not allowed: ${named}`,
      category: 'repository_not_allowed',
    });
    expect(dispatcher.runners.size).toBe(0);
    expect(llmCalls).toBe(0);
    expect(await store.read(dedupHash(task))).toBeUndefined();
  });

  it('dispatches a payload-named repository the routing config allows, in its https form', async () => {
    ports.routing = parseRoutingConfig(
      `
allowed_repositories: [github.com/acme/*]
repositories:
  - url: https://github.com/acme/orders.git
    jira_projects: [ORD]
`,
    );
    const task = makeTask({ source: 'datadog', repository: 'git@github.com:Acme/payments.git' });
    expect(await handleTask(task, ports, context())).toMatchObject({ kind: 'dispatched' });
    expect(dispatcher.runners.get(`runner-${task.task_id}`)?.repository.url).toBe(
      'https://github.com/Acme/payments.git',
    );
    // A payload only names the repository: a listed one named over plain http is still reached over https.
    const plain = makeTask({ source: 'datadog', dedup_key: 'other', repository: 'http://github.com/acme/orders' });
    expect(await handleTask(plain, ports, context())).toMatchObject({ kind: 'dispatched' });
    expect(dispatcher.runners.get(`runner-${plain.task_id}`)?.repository.url).toBe(
      'https://github.com/acme/orders.git',
    );
  });

  it('dead-letters a permanent dispatch failure, releasing the claim and the slot', async () => {
    dispatcher.failures.push(new PermanentError('cannot build the Job: bad'));
    const task = makeTask();
    expect(await handleTask(task, ports, context())).toMatchObject({
      kind: 'dead-letter',
      reason: 'cannot build the Job: bad',
      category: 'not_dispatchable',
    });
    expect(await store.read(dedupHash(task))).toBeUndefined();
    expect(ports.capacity.used).toBe(0);
  });

  it('asks for a retry on a retryable failure, keeping the claim until the final attempt', async () => {
    const task = makeTask();
    dispatcher.failures.push(new RetryableError('503'), new RetryableError('503'));
    expect(await handleTask(task, ports, context())).toMatchObject({ kind: 'retry', error: { message: '503' } });
    expect((await store.read(dedupHash(task)))?.taskId).toBe(task.task_id);
    expect(await handleTask(task, ports, context({ finalAttempt: true }))).toMatchObject({ kind: 'retry' });
    expect(await store.read(dedupHash(task))).toBeUndefined();
    expect(ports.capacity.used).toBe(0);
  });

  it('releases the claim when the final attempt fails before it could claim (the API refusing creates)', async () => {
    const task = makeTask();
    dispatcher.failures.push(new RetryableError('503'));
    expect(await handleTask(task, ports, context())).toMatchObject({ kind: 'retry' });
    const create = store.create.bind(store);
    store.create = async () => {
      throw new RetryableError('the API refuses creates');
    };
    expect(await handleTask(task, ports, context({ finalAttempt: true }))).toMatchObject({ kind: 'retry' });
    store.create = create;
    expect(await store.read(dedupHash(task))).toBeUndefined();
  });

  it('marks the claim once the runner exists', async () => {
    const task = makeTask();
    await handleTask(task, ports, context());
    expect((await store.read(dedupHash(task)))?.dispatched).toBe(true);
  });

  it('waits at the cap and starts when a runner finishes', async () => {
    ports.capacity = new Capacity(1);
    ports.capacity.update(['busy']);
    const task = makeTask();
    let settled = false;
    const pending = handleTask(task, ports, context()).finally(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    expect(dispatcher.runners.size).toBe(0);
    ports.capacity.update([], ['busy']);
    expect(await pending).toMatchObject({ kind: 'dispatched' });
    expect((await ports.metrics.capacityWaits.get()).values[0]?.value).toBe(1);
  });

  it('hands the message back when no slot frees in time, or at shutdown', async () => {
    ports.capacity = new Capacity(1);
    ports.capacity.update(['busy']);
    ports.capacityHoldMs = 10;
    expect(await handleTask(makeTask(), ports, context())).toEqual({
      kind: 'requeue',
      reason: 'no runner slot in time',
    });
    ports.capacityHoldMs = 60_000;
    const controller = new AbortController();
    const pending = handleTask(makeTask({ external_id: 'ORD-2' }), ports, context({ signal: controller.signal }));
    controller.abort();
    expect(await pending).toEqual({ kind: 'requeue', reason: 'shutting down' });
    expect(dispatcher.runners.size).toBe(0);
  });
});
