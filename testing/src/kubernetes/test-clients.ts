import { ApiException, BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { FakeKubernetes } from './fake-kubernetes.ts';
import type { Status } from './status.ts';

// For the fake's own tests: the real client, configured the way a service would be (from the
// kubeconfig file), and a way to read the Status out of its ApiException.

export function clientsFor(fake: FakeKubernetes): { config: KubeConfig; core: CoreV1Api; batch: BatchV1Api } {
  const config = new KubeConfig();
  config.loadFromFile(fake.kubeconfigPath);
  return { config, core: config.makeApiClient(CoreV1Api), batch: config.makeApiClient(BatchV1Api) };
}

/** Awaits a call that must fail with an ApiException, and returns its code and Status body. */
export async function apiError(
  call: Promise<unknown>,
): Promise<{ code: number; status: Status; headers: Record<string, string> }> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body = (err as ApiException<unknown>).body;
    return {
      code: err.code,
      status: (typeof body === 'string' && body ? JSON.parse(body) : body) as Status,
      headers: err.headers as Record<string, string>,
    };
  }
  throw new Error('expected the call to fail with an ApiException');
}
