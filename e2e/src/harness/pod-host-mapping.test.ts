import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
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
    { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
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
    securityContext: { fsGroup: 10001 },
    initContainers: [proxy],
    containers: [agent],
    volumes: [
      { name: 'context', configMap: { name: 'agent-ctx-1' } },
      { name: 'tmp', emptyDir: {} },
    ],
  },
} as unknown as KubeObject;

describe('PodHostMapping', () => {
  // prepare() chowns as a kubelet does: it runs as root, as the e2e suite does.
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
    const mounts = mapping.mounts(agent);
    const env = resolveEnv(pod, agent, { imageEnv: { NODE_ENV: 'production' }, secrets: {}, podIp: '10.213.0.2' });
    const hostEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, PodHostMapping.rewrite(mounts, v)]));

    expect(await readFile(hostEnv.CONTEXT_PATH ?? '', 'utf8')).toBe('{"from":"agent-ctx-1"}');
    expect(hostEnv.HOME).toBe(mounts.get('/tmp'));
    // The pod has a network of its own: its loopback URLs stay as they are.
    expect(hostEnv.CREDENTIAL_PROXY_URL).toBe('http://127.0.0.1:8181');
    expect(hostEnv).toMatchObject({
      POD: 'agent-job-1-abcde',
      TASK: 'task-1',
      NODE_ENV: 'production',
      IP: '10.213.0.2',
    });
    // Paths outside every mount are left alone.
    expect(PodHostMapping.rewrite(mounts, '/usr/bin')).toBe('/usr/bin');
    expect(PodHostMapping.rewrite(mounts, '/tmpfoo')).toBe('/tmpfoo');
  });

  it('makes an emptyDir as a kubelet does with an fsGroup: root, group fsGroup, mode 2777', async () => {
    const mapping = await prepare();
    const tmp = await stat(mapping.volumes.get('tmp') ?? '');
    expect({ uid: tmp.uid, gid: tmp.gid, mode: (tmp.mode & 0o7777).toString(8) }).toEqual({
      uid: 0,
      gid: 10001,
      mode: '2777',
    });
    const log = await stat(mapping.terminationFile(agent));
    expect((log.mode & 0o777).toString(8)).toBe('666');
  });

  it('resolves secretKeyRefs from the secrets given, and refuses a missing key', () => {
    const secrets = { 'anton-secrets': { 'github-token': 'ghs_x' } };
    expect(resolveEnv(pod, proxy, { imageEnv: {}, secrets, podIp: '10.213.0.2' })).toMatchObject({
      GITHUB_TOKEN: 'ghs_x',
      PROXY_PORT: '8181',
    });
    expect(() => resolveEnv(pod, proxy, { imageEnv: {}, secrets: {}, podIp: '10.213.0.2' })).toThrow(PodSpecError);
  });

  it('maps [tini --] node dist/<x>.js to the runner sources, and nothing else', () => {
    expect(hostEntry(proxy.command, [], '/repo/runner')).toEqual({
      init: [],
      script: '/repo/runner/src/credential-proxy/main.ts',
      args: [],
    });
    expect(hostEntry(['tini', '--', 'node', 'dist/main.js'], ['x'], '/repo/runner')).toEqual({
      init: ['/usr/bin/tini', '--'],
      script: '/repo/runner/src/main.ts',
      args: ['x'],
    });
    expect(() => hostEntry(['sh', '-c', 'true'], [], '/repo/runner')).toThrow(PodSpecError);
  });

  it('reports exit codes as Kubernetes does: 128 + the signal', () => {
    expect(exitCodeOf({ code: 2, signal: null })).toBe(2);
    expect(exitCodeOf({ code: null, signal: 'SIGKILL' })).toBe(137);
  });
});
