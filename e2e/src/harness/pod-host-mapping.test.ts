import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '@anton/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ContainerSpec,
  exitCodeOf,
  hostEntry,
  PodHostMapping,
  PodSpecError,
  resolveEnv,
} from './pod-host-mapping.ts';

const agent: ContainerSpec = {
  name: 'agent',
  command: ['node', 'dist/main.js'],
  env: [
    { name: 'CONTEXT_PATH', value: '/app/context/task.json' },
    { name: 'HOME', value: '/tmp' },
    { name: 'CREDENTIAL_PROXY_URL', value: 'http://127.0.0.1:8181' },
    { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'TASK', valueFrom: { fieldRef: { fieldPath: "metadata.labels['task-id']" } } },
  ],
  volumeMounts: [
    { name: 'context', mountPath: '/app/context' },
    { name: 'tmp', mountPath: '/tmp' },
  ],
};
const proxy: ContainerSpec = {
  name: 'credential-proxy',
  restartPolicy: 'Always',
  command: ['node', 'dist/credential-proxy/main.js'],
  env: [
    { name: 'PROXY_PORT', value: '8181' },
    { name: 'GITHUB_TOKEN', valueFrom: { secretKeyRef: { name: 'anton-secrets', key: 'github-token' } } },
  ],
  startupProbe: { tcpSocket: { port: 8181 } },
};
const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'agent-job-1-abcde', namespace: 'agents', labels: { 'task-id': 'task-1' } },
  spec: {
    initContainers: [proxy],
    containers: [agent],
    volumes: [
      { name: 'context', configMap: { name: 'agent-ctx-1' } },
      { name: 'tmp', emptyDir: {} },
    ],
  },
} as unknown as KubeObject;

describe('PodHostMapping', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });
  async function prepare(): Promise<PodHostMapping> {
    const dir = await mkdtemp(join(tmpdir(), 'anton-mapping-'));
    dirs.push(dir);
    return PodHostMapping.prepare(pod, dir, async (name) => ({ 'task.json': `{"from":"${name}"}` }));
  }

  it('projects ConfigMap keys as files and maps mount paths and probe ports onto the host', async () => {
    const mapping = await prepare();
    const mounts = await mapping.mounts(agent);
    const env = resolveEnv(pod, agent, { imageEnv: { NODE_ENV: 'production' }, secrets: {} });
    const hostEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, mapping.rewrite(mounts, v)]));

    expect(await readFile(hostEnv.CONTEXT_PATH ?? '', 'utf8')).toBe('{"from":"agent-ctx-1"}');
    expect(hostEnv.HOME).toBe(mounts.get('/tmp'));
    const hostPort = mapping.ports.get(8181);
    expect(hostPort).toBeGreaterThan(0);
    expect(hostEnv.CREDENTIAL_PROXY_URL).toBe(`http://127.0.0.1:${hostPort}`);
    expect(mapping.rewrite(mounts, '8181')).toBe(String(hostPort));
    expect(hostEnv).toMatchObject({ POD: 'agent-job-1-abcde', TASK: 'task-1', NODE_ENV: 'production' });
    // Paths outside every mount, and other hosts' URLs, are left alone.
    expect(mapping.rewrite(mounts, '/usr/bin')).toBe('/usr/bin');
    expect(mapping.rewrite(mounts, '/tmpfoo')).toBe('/tmpfoo');
    expect(mapping.rewrite(mounts, 'http://example.com:8181/x')).toBe('http://example.com:8181/x');
    expect(PodHostMapping.hostPath(mounts, '/dev/termination-log')).toMatch(/agent\.termination-log$/);
  });

  it('resolves secretKeyRefs from the secrets given, and refuses a missing key', () => {
    const secrets = { 'anton-secrets': { 'github-token': 'ghs_x' } };
    expect(resolveEnv(pod, proxy, { imageEnv: {}, secrets })).toMatchObject({
      GITHUB_TOKEN: 'ghs_x',
      PROXY_PORT: '8181',
    });
    expect(() => resolveEnv(pod, proxy, { imageEnv: {}, secrets: {} })).toThrow(PodSpecError);
  });

  it('maps node dist/<x>.js to the runner sources, and nothing else', () => {
    expect(hostEntry(proxy, '/repo/runner')).toEqual({ script: '/repo/runner/src/credential-proxy/main.ts', args: [] });
    expect(() => hostEntry({ name: 'x', command: ['sh', '-c', 'true'] }, '/repo/runner')).toThrow(PodSpecError);
  });

  it('reports exit codes as Kubernetes does: 128 + the signal', () => {
    expect(exitCodeOf({ code: 2, signal: null })).toBe(2);
    expect(exitCodeOf({ code: null, signal: 'SIGKILL' })).toBe(137);
  });
});
