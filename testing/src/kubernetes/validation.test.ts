import type { V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeKubernetes } from './fake-kubernetes.ts';
import { contextConfigMap, runnerJob } from './runner-job-manifest.ts';
import { apiError, clientsFor } from './test-clients.ts';

const ns = 'agents';
let fake: FakeKubernetes;
let clients: ReturnType<typeof clientsFor>;

beforeAll(async () => {
  fake = await FakeKubernetes.start();
  clients = clientsFor(fake);
});
afterAll(async () => {
  await fake.close();
});

/** The runner Job with one change made to it (a deep copy, edited in place). */
function jobWith(id: string, edit: (job: V1Job & { spec: NonNullable<V1Job['spec']> }) => void): V1Job {
  const job = runnerJob(id) as V1Job & { spec: NonNullable<V1Job['spec']> };
  edit(job);
  return job;
}

const podSpec = (job: V1Job) => job.spec?.template.spec ?? { containers: [] };

describe('Job validation', () => {
  it("accepts a Job like anton's: secretKeyRef env, a ConfigMap volume, securityContext, a native sidecar, a podFailurePolicy", async () => {
    const job = await clients.batch.createNamespacedJob({ namespace: ns, body: runnerJob('ok') });
    expect(job.spec?.podFailurePolicy?.rules[0]?.onExitCodes?.values).toEqual([2]);
    expect(job.spec?.podReplacementPolicy).toBe('Failed');
    expect(job.spec?.template.spec?.initContainers?.[0]?.restartPolicy).toBe('Always');
    expect(job.spec?.template.spec?.volumes?.[0]?.configMap?.defaultMode).toBe(420);
    expect(fake.jobs(ns).map((j) => j.metadata.name)).toContain('agent-job-ok');
  });

  it.each([
    [
      'a restartPolicy a Job does not allow',
      (job: V1Job) => {
        podSpec(job).restartPolicy = 'Always';
      },
      'spec.template.spec.restartPolicy',
      'Required value: valid values: "OnFailure", "Never"',
    ],
    [
      'an unknown restartPolicy',
      (job: V1Job) => {
        podSpec(job).restartPolicy = 'Sometimes';
      },
      'spec.template.spec.restartPolicy',
      'Unsupported value: "Sometimes": supported values: "OnFailure", "Never"',
    ],
    [
      'OnFailure together with a podFailurePolicy',
      (job: V1Job) => {
        podSpec(job).restartPolicy = 'OnFailure';
      },
      'spec.template.spec.restartPolicy',
      'Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified',
    ],
    [
      'a label value over 63 characters',
      (job: V1Job) => {
        job.metadata = { ...job.metadata, labels: { ...job.metadata?.labels, 'anton.dev/source': 'x'.repeat(64) } };
      },
      'metadata.labels',
      'must be no more than 63 characters',
    ],
    [
      'a label value with a space',
      (job: V1Job) => {
        job.metadata = { ...job.metadata, labels: { 'anton.dev/source': 'two words' } };
      },
      'metadata.labels',
      'a valid label must be an empty string or consist of alphanumeric characters',
    ],
    [
      'no containers',
      (job: V1Job) => {
        podSpec(job).containers = [];
      },
      'spec.template.spec.containers',
      'Required value',
    ],
    [
      'an uppercase name',
      (job: V1Job) => {
        job.metadata = { ...job.metadata, name: 'Agent-Job' };
      },
      'metadata.name',
      'a lowercase RFC 1123 subdomain',
    ],
    [
      'a volume mount of a volume that does not exist',
      (job: V1Job) => {
        podSpec(job).volumes = [];
      },
      'spec.template.spec.containers[0].volumeMounts[0].name',
      'Not found: "context"',
    ],
    [
      'an init container restartPolicy other than Always',
      (job: V1Job) => {
        const sidecar = podSpec(job).initContainers?.[0];
        if (sidecar) sidecar.restartPolicy = 'Never';
      },
      'spec.template.spec.initContainers[0].restartPolicy',
      'Unsupported value: "Never": supported values: "Always"',
    ],
    [
      'a podFailurePolicy naming a container that does not exist',
      (job: V1Job) => {
        const rule = job.spec?.podFailurePolicy?.rules[0];
        if (rule?.onExitCodes) rule.onExitCodes.containerName = 'runner';
      },
      'spec.podFailurePolicy.rules[0].onExitCodes.containerName',
      'must be one of the container or initContainer names in the pod template',
    ],
    [
      'an env var taking its value from a secret without a key',
      (job: V1Job) => {
        const env = podSpec(job).initContainers?.[0]?.env?.[0];
        if (env?.valueFrom?.secretKeyRef) env.valueFrom.secretKeyRef = { name: 'anton-secrets' } as never;
      },
      'spec.template.spec.initContainers[0].env[0].valueFrom.secretKeyRef.key',
      'Required value',
    ],
  ])('rejects %s with 422 Invalid naming the field', async (_what, edit, field, message) => {
    const body = jobWith('bad', edit);
    const error = await apiError(clients.batch.createNamespacedJob({ namespace: ns, body }));
    expect(error.code).toBe(422);
    expect(error.status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422 });
    expect(error.status.details).toMatchObject({ group: 'batch', kind: 'Job' });
    const messages = error.status.details?.causes?.filter((c) => c.field === field).map((c) => c.message);
    expect(messages).toEqual(expect.arrayContaining([expect.stringContaining(message)]));
    expect(error.status.message).toContain(`Job.batch "${body.metadata?.name}" is invalid: `);
    expect(fake.get('Job', ns, body.metadata?.name ?? '')).toBeUndefined();
  });

  it('rejects a field of the wrong type as the decoder does, with 400 BadRequest', async () => {
    const body = jobWith('type', (job) => {
      (job.spec as unknown as Record<string, unknown>).backoffLimit = 'two';
    });
    const error = await apiError(clients.batch.createNamespacedJob({ namespace: ns, body }));
    expect(error).toMatchObject({ code: 400, status: { reason: 'BadRequest' } });
    expect(error.status.message).toContain('cannot unmarshal string into Go struct field spec.backoffLimit');
  });

  it('rejects a Job whose generated job-name label would be too long', async () => {
    const body = jobWith('long', (job) => {
      job.metadata = { ...job.metadata, name: `agent-job-${'x'.repeat(60)}` };
    });
    const error = await apiError(clients.batch.createNamespacedJob({ namespace: ns, body }));
    expect(error.code).toBe(422);
    expect(error.status.details?.causes?.map((c) => c.field)).toContain('spec.template.metadata.labels');
  });
});

describe('ConfigMap validation', () => {
  it('rejects an invalid data key, a key in both data and binaryData, and more than 1 MiB', async () => {
    const badKey = contextConfigMap('k');
    badKey.data = { 'task json': '{}' };
    const keyError = await apiError(clients.core.createNamespacedConfigMap({ namespace: ns, body: badKey }));
    expect(keyError.status.details?.causes).toEqual([
      expect.objectContaining({ reason: 'FieldValueInvalid', field: 'data[task json]' }),
    ]);
    const both = contextConfigMap('b');
    both.binaryData = { 'task.json': Buffer.from('x').toString('base64') };
    const bothError = await apiError(clients.core.createNamespacedConfigMap({ namespace: ns, body: both }));
    expect(bothError.status.details?.causes?.[0]?.message).toContain('duplicate of key present in binaryData');
    const big = contextConfigMap('big');
    big.data = { 'task.json': 'x'.repeat(1024 * 1024 + 1) };
    const sizeError = await apiError(clients.core.createNamespacedConfigMap({ namespace: ns, body: big }));
    expect(sizeError.code).toBe(422);
    expect(sizeError.status.message).toContain('Too long: must have at most 1048576 bytes');
    expect(fake.configMaps(ns)).toEqual([]);
  });

  it('rejects annotations over 256 KiB in total', async () => {
    const body = contextConfigMap('ann');
    body.metadata = { ...body.metadata, annotations: { 'anton.dev/title': 'x'.repeat(256 * 1024) } };
    const error = await apiError(clients.core.createNamespacedConfigMap({ namespace: ns, body }));
    expect(error.status.details?.causes).toEqual([expect.objectContaining({ field: 'metadata.annotations' })]);
  });

  it('keeps an immutable ConfigMap immutable', async () => {
    const body = { ...contextConfigMap('imm'), immutable: true };
    const created = await clients.core.createNamespacedConfigMap({ namespace: ns, body });
    const error = await apiError(
      clients.core.replaceNamespacedConfigMap({
        namespace: ns,
        name: 'agent-ctx-imm',
        body: { ...created, data: { x: 'y' } },
      }),
    );
    expect(error.status.details?.causes?.[0]).toMatchObject({ reason: 'FieldValueForbidden', field: 'data' });
  });
});
