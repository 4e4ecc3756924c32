import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ContainerIdentity, containerArgv, containerInitPid, execArgv } from './container-sandbox.ts';
import { PodSpecError } from './pod-host-mapping.ts';
import { PodNetwork } from './pod-network.ts';
import { type ProbeAttempt, type ProbeContext, runStartupProbe } from './probes.ts';

// A server in a pod that listens on the pod's loopback only, as the credential proxy does, probed
// the three ways a kubelet probes.
const LOOPBACK_SERVER = `
require('node:http').createServer((req, res) => res.end('ok')).listen(8181, '127.0.0.1');
`;
const CONNECT_LOOPBACK = `
require('node:net').connect(8181, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1));
`;
const identity: ContainerIdentity = { uid: 10001, gid: 10001, groups: [], capabilities: [], noNewPrivs: true };

describe('startup probes, sent as the kubelet sends them', () => {
  let dir: string;
  let network: PodNetwork;
  let server: ServiceProcess;
  const attempts: ProbeAttempt[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anton-probes-'));
    await chmod(dir, 0o711);
    await mkdir(join(dir, 'dev'));
    network = await PodNetwork.create([]);
    const fs = { binds: [], hidden: [], readOnlyRoot: true, devStage: join(dir, 'dev') };
    server = await ServiceProcess.start({
      name: 'loopback-server',
      entry: '-e',
      args: [LOOPBACK_SERVER],
      nodeArgs: [],
      env: {},
      launcher: containerArgv(network, identity, fs, []),
    });
  });
  afterAll(async () => {
    await server?.kill();
    await network?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const context = (): ProbeContext => ({
    container: 'loopback-server',
    podIp: network.podIp,
    running: () => server.exit === undefined,
    record: (attempt) => attempts.push(attempt),
    exec: async (command, timeoutMs) => {
      const init = await containerInitPid(server.pid ?? 0);
      const argv = execArgv(init ?? 0, identity, command);
      return new Promise((resolve) => {
        execFile(argv[0] ?? '', argv.slice(1), { timeout: timeoutMs }, (err, stdout, stderr) =>
          resolve({ code: err ? Number(err.code) : 0, output: `${stdout}${stderr}` }),
        );
      });
    },
  });
  const fast = { periodSeconds: 1, failureThreshold: 3 };

  it('sends tcpSocket and httpGet to the pod IP, where a loopback-only server is not reached', async () => {
    await expect(runStartupProbe({ ...fast, tcpSocket: { port: 8181 } }, context())).rejects.toThrow(
      `tcpSocket ${network.podIp}:8181: connect ECONNREFUSED`,
    );
    await expect(runStartupProbe({ ...fast, httpGet: { port: 8181, path: '/' } }, context())).rejects.toThrow(
      PodSpecError,
    );
    expect(attempts.filter((a) => a.target.includes(network.podIp) && !a.ok)).toHaveLength(6);
  });

  it('runs exec inside the container, where the loopback is the pod’s', async () => {
    await runStartupProbe(
      { ...fast, timeoutSeconds: 10, exec: { command: [process.execPath, '-e', CONNECT_LOOPBACK] } },
      context(),
    );
    expect(attempts.at(-1)).toMatchObject({ ok: true, target: expect.stringMatching(/^exec /) });
  });
});
