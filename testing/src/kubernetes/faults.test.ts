import { ApiException, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeKubernetes, kubernetesStatusFault } from './fake-kubernetes.ts';
import { contextConfigMap, runnerJob } from './runner-job-manifest.ts';
import { apiError, clientsFor } from './test-clients.ts';

const ns = 'agents';
let fake: FakeKubernetes;
let clients: ReturnType<typeof clientsFor>;

beforeAll(async () => {
  fake = await FakeKubernetes.start();
  clients = clientsFor(fake);
});
beforeEach(() => {
  fake.clearFaults();
});
afterAll(async () => {
  await fake.close();
});

const jobsPath = `/apis/batch/v1/namespaces/${ns}/jobs`;

describe('faults', () => {
  it('answers an injected 500 with a Status, once', async () => {
    fake.inject(kubernetesStatusFault(500, 'InternalError', 'Internal error occurred: etcdserver: leader changed'), {
      method: 'POST',
      path: jobsPath,
    });
    const error = await apiError(clients.batch.createNamespacedJob({ namespace: ns, body: runnerJob('f500') }));
    expect(error).toMatchObject({ code: 500, status: { kind: 'Status', reason: 'InternalError' } });
    expect(fake.get('Job', ns, 'agent-job-f500')).toBeUndefined();
    await clients.batch.createNamespacedJob({ namespace: ns, body: runnerJob('f500') });
    expect(fake.get('Job', ns, 'agent-job-f500')).toBeDefined();
  });

  it('answers an injected 429 with Retry-After, as API priority and fairness does', async () => {
    fake.inject(kubernetesStatusFault(429, 'TooManyRequests', 'Too many requests, please try again later.', 1), {
      path: jobsPath,
      method: 'GET',
    });
    const error = await apiError(clients.batch.listNamespacedJob({ namespace: ns }));
    expect(error.code).toBe(429);
    expect(error.headers['retry-after']).toBe('1');
    expect(error.status).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 1 } });
  });

  it('answers slowly when a delay is injected: a later, fast request overtakes the slow one', async () => {
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('slow') });
    fake.inject({ kind: 'delay', ms: 150 }, { path: `/api/v1/namespaces/${ns}/configmaps/agent-ctx-slow` });
    const order: string[] = [];
    const slow = clients.core.readNamespacedConfigMap({ namespace: ns, name: 'agent-ctx-slow' }).then((cm) => {
      order.push('slow');
      return cm;
    });
    await clients.core.listNamespacedConfigMap({ namespace: ns }).then(() => order.push('fast'));
    expect((await slow).metadata?.name).toBe('agent-ctx-slow');
    expect(order).toEqual(['fast', 'slow']);
  });

  it('drops the connection when told to: the client sees a network error, not an API answer', async () => {
    fake.inject({ kind: 'drop' }, { path: jobsPath });
    let caught: unknown;
    try {
      await clients.batch.listNamespacedJob({ namespace: ns });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught).not.toBeInstanceOf(ApiException);
    const watchDone = new Promise<unknown>((resolve) => {
      fake.inject({ kind: 'drop' }, { path: jobsPath });
      void new Watch(clients.config).watch(jobsPath, {}, () => undefined, resolve);
    });
    expect(await watchDone).toBeInstanceOf(Error);
  });

  it('fails the next create of a kind with 409 AlreadyExists or 500, and only that one', async () => {
    fake.failNextCreate('Job', 409, 'agent-job-taken');
    const conflict = await apiError(clients.batch.createNamespacedJob({ namespace: ns, body: runnerJob('taken') }));
    expect(conflict).toMatchObject({
      code: 409,
      status: { reason: 'AlreadyExists', message: 'jobs.batch "agent-job-taken" already exists' },
    });
    expect(fake.get('Job', ns, 'agent-job-taken')).toBeUndefined();
    fake.failNextCreate('ConfigMap', 500);
    const internal = await apiError(
      clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('x') }),
    );
    expect(internal).toMatchObject({ code: 500, status: { reason: 'InternalError' } });
    await clients.batch.createNamespacedJob({ namespace: ns, body: runnerJob('taken') });
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('x') });
    expect(fake.get('Job', ns, 'agent-job-taken')).toBeDefined();
  });
});
