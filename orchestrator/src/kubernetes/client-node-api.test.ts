import { FakeKubernetes } from '@anton/testing';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKubernetesApi, loadKubeConfig } from './client-node-api.ts';

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
