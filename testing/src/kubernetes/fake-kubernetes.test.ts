import { readFile } from 'node:fs/promises';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, VersionApi } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeKubernetes } from './fake-kubernetes.ts';
import { contextConfigMap, runnerJob } from './runner-job-manifest.ts';
import { apiError, clientsFor } from './test-clients.ts';

const ns = 'agents';
let fake: FakeKubernetes;
let clients: ReturnType<typeof clientsFor>;

beforeEach(async () => {
  fake = await FakeKubernetes.start();
  clients = clientsFor(fake);
});
afterEach(async () => {
  await fake.close();
});

describe('connection', () => {
  it('writes a kubeconfig loadFromFile accepts, with the token, and serves discovery and /version', async () => {
    expect(await readFile(fake.kubeconfigPath, 'utf8')).toContain('insecure-skip-tls-verify: true');
    expect(clients.config.getCurrentUser()?.token).toBe(fake.token);
    const version = await clients.config.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    const core = await clients.core.getAPIResources();
    expect(core.resources.map((r) => r.name)).toEqual(expect.arrayContaining(['configmaps', 'pods', 'pods/status']));
    const batch = await clients.batch.getAPIResources();
    expect(batch.groupVersion).toBe('batch/v1');
    expect(batch.resources.find((r) => r.name === 'jobs')).toMatchObject({ kind: 'Job', namespaced: true });
  });

  it('serves the version it is started with, as a managed cluster spells it', async () => {
    const old = await FakeKubernetes.start({ version: { minor: '28+', gitVersion: 'v1.28.9-eks-036c24b' } });
    try {
      const version = await clientsFor(old).config.makeApiClient(VersionApi).getCode();
      expect(version).toMatchObject({
        major: '1',
        minor: '28+',
        gitVersion: 'v1.28.9-eks-036c24b',
        platform: 'linux/amd64',
      });
    } finally {
      await old.close();
    }
  });

  it('answers 401 Unauthorized without the bearer token, or with a wrong one', async () => {
    const anonymous = new KubeConfig();
    anonymous.loadFromOptions({
      clusters: [{ name: 'c', server: fake.url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'not-the-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const wrong = await apiError(anonymous.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: ns }));
    expect(wrong.code).toBe(401);
    const response = await fetch(`${fake.url}/api/v1/namespaces/${ns}/configmaps`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  });
});

describe('ConfigMaps and Jobs', () => {
  it('sets uid, resourceVersion, creationTimestamp, namespace and generation; gets and lists what it stored', async () => {
    const before = Number(fake.resourceVersion);
    const job = await clients.batch.createNamespacedJob({ namespace: ns, body: runnerJob('t1') });
    const cm = await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('t1') });
    expect(job.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(job.metadata?.namespace).toBe(ns);
    expect(job.metadata?.generation).toBe(1);
    expect(job.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(Number(job.metadata?.resourceVersion)).toBeGreaterThan(before);
    expect(Number(cm.metadata?.resourceVersion)).toBeGreaterThan(Number(job.metadata?.resourceVersion));
    expect(cm.metadata?.generation).toBeUndefined();
    // The server's defaults and generated selector, as a real cluster shows them.
    expect(job.spec?.selector?.matchLabels).toEqual({ 'batch.kubernetes.io/controller-uid': job.metadata?.uid });
    expect(job.spec?.template.metadata?.labels).toMatchObject({
      'job-name': 'agent-job-t1',
      'batch.kubernetes.io/job-name': 'agent-job-t1',
      'controller-uid': job.metadata?.uid,
    });
    expect(job.spec?.template.spec?.containers[0]?.terminationMessagePath).toBe('/dev/termination-log');
    expect(job.spec?.completions).toBe(1);

    const read = await clients.batch.readNamespacedJob({ namespace: ns, name: 'agent-job-t1' });
    expect(read.metadata?.uid).toBe(job.metadata?.uid);
    const listed = await clients.core.listNamespacedConfigMap({ namespace: ns });
    expect(listed.items.map((i) => i.metadata?.name)).toEqual(['agent-ctx-t1']);
    expect(Number(listed.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(cm.metadata?.resourceVersion));
    expect(fake.get('ConfigMap', ns, 'agent-ctx-t1')?.data).toEqual(contextConfigMap('t1').data);
  });

  it('lists by labelSelector and fieldSelector, and pages with limit and continue', async () => {
    for (const id of ['a', 'b', 'c']) {
      const body = contextConfigMap(id);
      body.metadata = {
        ...body.metadata,
        labels: { ...body.metadata?.labels, 'anton.dev/source': id === 'c' ? 'sonar' : 'jira' },
      };
      await clients.core.createNamespacedConfigMap({ namespace: ns, body });
    }
    const names = async (query: { labelSelector?: string; fieldSelector?: string }) =>
      (await clients.core.listNamespacedConfigMap({ namespace: ns, ...query })).items.map((i) => i.metadata?.name);
    expect(await names({ labelSelector: 'app=anton-runner,anton.dev/source=jira' })).toEqual([
      'agent-ctx-a',
      'agent-ctx-b',
    ]);
    expect(await names({ labelSelector: 'task-id in (a,c),anton.dev/source!=sonar' })).toEqual(['agent-ctx-a']);
    expect(await names({ labelSelector: '!task-id' })).toEqual([]);
    expect(await names({ fieldSelector: 'metadata.name=agent-ctx-b' })).toEqual(['agent-ctx-b']);
    const page = await clients.core.listNamespacedConfigMap({ namespace: ns, limit: 2 });
    expect(page.items).toHaveLength(2);
    expect(page.metadata?.remainingItemCount).toBe(1);
    const rest = await clients.core.listNamespacedConfigMap({
      namespace: ns,
      limit: 2,
      _continue: page.metadata?._continue,
    });
    expect(rest.items.map((i) => i.metadata?.name)).toEqual(['agent-ctx-c']);
    expect(
      (await apiError(clients.core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'a in (' }))).code,
    ).toBe(400);
    expect(
      (await apiError(clients.core.listNamespacedConfigMap({ namespace: ns, fieldSelector: 'data.x=y' }))).status
        .message,
    ).toBe('field label not supported: data.x');
  });

  it('names objects from generateName', async () => {
    const body = contextConfigMap('g');
    body.metadata = { generateName: 'claim-' };
    const created = await clients.core.createNamespacedConfigMap({ namespace: ns, body });
    expect(created.metadata?.name).toMatch(/^claim-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('answers 409 AlreadyExists, 404 NotFound and 404 for a missing namespace as Status objects', async () => {
    await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('d') });
    const duplicate = await apiError(
      clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('d') }),
    );
    expect(duplicate).toMatchObject({
      code: 409,
      status: {
        kind: 'Status',
        status: 'Failure',
        reason: 'AlreadyExists',
        message: 'configmaps "agent-ctx-d" already exists',
        details: { name: 'agent-ctx-d', kind: 'configmaps' },
        code: 409,
      },
    });
    const missing = await apiError(clients.batch.readNamespacedJob({ namespace: ns, name: 'nope' }));
    expect(missing).toMatchObject({
      code: 404,
      status: {
        reason: 'NotFound',
        message: 'jobs.batch "nope" not found',
        details: { name: 'nope', group: 'batch', kind: 'jobs' },
      },
    });
    const noNamespace = await apiError(
      clients.core.createNamespacedConfigMap({ namespace: 'elsewhere', body: contextConfigMap('e') }),
    );
    expect(noNamespace.status).toMatchObject({ code: 404, message: 'namespaces "elsewhere" not found' });
  });

  it('replaces with optimistic concurrency: a stale resourceVersion gets 409 Conflict', async () => {
    const created = await clients.core.createNamespacedConfigMap({ namespace: ns, body: contextConfigMap('r') });
    const updated = await clients.core.replaceNamespacedConfigMap({
      namespace: ns,
      name: 'agent-ctx-r',
      body: { ...created, data: { 'task.json': '{}' } },
    });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
    expect(updated.metadata?.uid).toBe(created.metadata?.uid);
    const stale = await apiError(
      clients.core.replaceNamespacedConfigMap({
        namespace: ns,
        name: 'agent-ctx-r',
        body: { ...created, data: { x: 'y' } },
      }),
    );
    expect(stale).toMatchObject({ code: 409, status: { reason: 'Conflict' } });
    expect(stale.status.message).toContain('the object has been modified');
    expect(fake.get('ConfigMap', ns, 'agent-ctx-r')?.data).toEqual({ 'task.json': '{}' });
  });

  it('patches with JSON patch (the client default), merge patch and strategic merge patch', async () => {
    await clients.batch.createNamespacedJob({ namespace: ns, body: runnerJob('p') });
    const name = 'agent-job-p';
    const jsonPatched = await clients.batch.patchNamespacedJob({
      namespace: ns,
      name,
      body: [{ op: 'add', path: '/metadata/annotations/anton.dev~1result', value: 'pr_opened' }],
    });
    expect(jsonPatched.metadata?.annotations?.['anton.dev/result']).toBe('pr_opened');
    const merged = await clients.batch.patchNamespacedJob(
      { namespace: ns, name, body: { metadata: { labels: { 'anton.dev/priority': null, extra: 'yes' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels?.extra).toBe('yes');
    expect(merged.metadata?.labels?.['anton.dev/priority']).toBeUndefined();
    const strategic = await clients.batch.patchNamespacedJob(
      { namespace: ns, name, body: { metadata: { annotations: { 'anton.dev/pr-url': 'https://x/pull/1' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(strategic.metadata?.annotations).toMatchObject({
      'anton.dev/result': 'pr_opened',
      'anton.dev/pr-url': 'https://x/pull/1',
    });
    // Metadata changes leave the spec's generation alone; the spec itself is immutable for Jobs.
    expect(strategic.metadata?.generation).toBe(1);
    const immutable = await apiError(
      clients.batch.patchNamespacedJob(
        { namespace: ns, name, body: { spec: { template: { spec: { restartPolicy: 'OnFailure' } } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(immutable).toMatchObject({ code: 422, status: { reason: 'Invalid' } });
    expect(immutable.status.details?.causes?.map((c) => c.field)).toContain('spec.template');
    const missing = await apiError(
      clients.core.patchNamespacedConfigMap({
        namespace: ns,
        name: 'missing',
        body: [{ op: 'add', path: '/x', value: 1 }],
      }),
    );
    expect(missing.code).toBe(404);
  });

  it('does not store a dry run', async () => {
    const created = await clients.core.createNamespacedConfigMap({
      namespace: ns,
      body: contextConfigMap('dry'),
      dryRun: 'All',
    });
    expect(created.metadata?.uid).toBeDefined();
    expect(fake.configMaps(ns)).toEqual([]);
  });

  it('refuses writes to pods, which only the Job controller creates', async () => {
    const denied = await apiError(
      clients.core.createNamespacedPod({
        namespace: ns,
        body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      }),
    );
    expect(denied).toMatchObject({ code: 403, status: { reason: 'Forbidden' } });
  });
});
