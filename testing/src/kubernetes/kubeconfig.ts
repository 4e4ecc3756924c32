import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface KubeconfigFile {
  path: string;
  remove(): Promise<void>;
}

/**
 * A kubeconfig for the fake: one cluster at `server`, one user with a bearer token. The fake
 * speaks plain HTTP, which @kubernetes/client-node only accepts with `insecure-skip-tls-verify`.
 */
export async function writeKubeconfig(server: string, token: string, namespace: string): Promise<KubeconfigFile> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-kubernetes-'));
  const path = join(dir, 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'fake-user', user: { token } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake-user', namespace } }],
    'current-context': 'fake',
  };
  await writeFile(path, stringify(config), { mode: 0o600 });
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
