import { FakeKubernetes } from '@anton/testing';
import type { V1Job } from '@kubernetes/client-node';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKubernetesApi, loadKubeConfig } from './client-node-api.ts';
import { KubernetesError } from './kubernetes-api.ts';

let fake: FakeKubernetes;

beforeEach(async () => {
  fake = await FakeKubernetes.start();
});
afterEach(() => fake.close());

const configMap = (name: string) => ({ metadata: { name }, data: { a: 'b' } });

describe('createKubernetesApi', () => {
  // The fake's kubeconfig sets insecure-skip-tls-verify: TLS settings, as a pod's CA is.
  it('reuses its connections to the API server instead of opening one per call', async () => {
    const api = createKubernetesApi(loadKubeConfig(fake.kubeconfigPath), 'agents', pino({ level: 'silent' }));
    for (let i = 0; i < 20; i += 1) {
      await api.createConfigMap(configMap(`one-by-one-${i}`));
      await api.readConfigMap(`one-by-one-${i}`);
    }
    expect(fake.requests).toHaveLength(40);
    const sequential = fake.connectionsAccepted;
    await Promise.all(Array.from({ length: 10 }, (_, i) => api.createConfigMap(configMap(`at-once-${i}`))));
    await api.listConfigMaps('');

    expect(fake.configMaps('agents')).toHaveLength(30);
    // One after another, calls share kept-alive connections (undici opens a second one for the call
    // that follows the first at once, with plain fetch too). Without the reuse: one per call, 40.
    expect(sequential).toBeLessThanOrEqual(2);
    // At once: at most one more connection per call in flight.
    expect(fake.connectionsAccepted - sequential).toBeLessThanOrEqual(10);
  });
});

describe('createKubernetesApi: writes with fieldValidation=Strict', () => {
  const job = (name: string, inSpec: Record<string, unknown> = {}, inContainer: Record<string, unknown> = {}) =>
    ({
      metadata: { name },
      spec: {
        template: {
          spec: { restartPolicy: 'Never', containers: [{ name: 'agent', image: 'anton-runner:1', ...inContainer }] },
        },
        ...inSpec,
      },
    }) as V1Job;

  it('sends a Job as it was rendered: a misspelled field is refused by the API server, not dropped', async () => {
    const api = createKubernetesApi(loadKubeConfig(fake.kubeconfigPath), 'agents', pino({ level: 'silent' }));
    const created = api.createJob(job('misspelled', { bogus: 1 }, { imagePullPolicyy: 'Always' }));
    await expect(created).rejects.toThrow(KubernetesError);
    await expect(created).rejects.toMatchObject({ status: 400, reason: 'BadRequest' });
    await expect(created).rejects.toThrow(
      'Job in version "v1" cannot be handled as a Job: strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolicyy", unknown field "spec.bogus"',
    );
    expect(fake.jobs('agents')).toEqual([]);
    expect(fake.requests.at(-1)?.query.get('fieldValidation')).toBe('Strict');
  });

  it('creates a Job and a ConfigMap whose fields are all known', async () => {
    const api = createKubernetesApi(loadKubeConfig(fake.kubeconfigPath), 'agents', pino({ level: 'silent' }));
    await api.createJob(job('clean'));
    await api.createConfigMap(configMap('clean'));
    expect(fake.jobs('agents').map((j) => j.metadata.name)).toEqual(['clean']);
    expect(fake.requests.map((r) => r.query.get('fieldValidation'))).toEqual(['Strict', 'Strict']);
  });

  it('refuses a ConfigMap with an unknown field', async () => {
    const api = createKubernetesApi(loadKubeConfig(fake.kubeconfigPath), 'agents', pino({ level: 'silent' }));
    await expect(api.createConfigMap({ ...configMap('x'), datta: {} } as never)).rejects.toMatchObject({ status: 400 });
  });
});
