import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ContainerIdentity, containerArgv } from './container-sandbox.ts';
import { PodNetwork } from './pod-network.ts';

// What a process inside a container of the stand-in sees: it reports it as one JSON line.
const REPORT = `
const fs = require('node:fs');
const os = require('node:os');
const status = fs.readFileSync('/proc/self/status', 'utf8');
const field = (name) => new RegExp('^' + name + ':\\\\s*(.*)$', 'm').exec(status)?.[1];
const tryWrite = (path) => { try { fs.writeFileSync(path, 'x'); return 'ok'; } catch (err) { return err.code; } };
fs.writeFileSync('/dev/termination-log', 'bye');
console.log(JSON.stringify({
  pid: process.pid, uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(),
  capEff: field('CapEff'), capBnd: field('CapBnd'), capAmb: field('CapAmb'), noNewPrivs: field('NoNewPrivs'),
  root: tryWrite(process.env.OUTSIDE), volume: tryWrite(process.env.VOLUME + '/f'),
  addresses: Object.values(os.networkInterfaces()).flat().map((a) => a.address),
  processes: fs.readdirSync('/proc').filter((e) => /^\\d+$/.test(e)).length,
}));
`;

/** CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7) as the hex mask /proc/self/status prints. */
const KILL_SETGID_SETUID = (2 ** 5 + 2 ** 6 + 2 ** 7).toString(16).padStart(16, '0');

describe('a container of the stand-in kubelet', () => {
  let dir: string;
  let network: PodNetwork;
  let fakeUpstream: Server;
  let upstreamPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anton-sandbox-'));
    await chmod(dir, 0o711);
    for (const sub of ['volume', 'dev', 'other']) await mkdir(join(dir, sub), { mode: 0o777 });
    await chmod(join(dir, 'volume'), 0o2777);
    await writeFile(join(dir, 'termination-log'), '');
    await chmod(join(dir, 'termination-log'), 0o666);
    fakeUpstream = createServer((socket) => socket.end('upstream\n'));
    await new Promise<void>((resolve) => fakeUpstream.listen(0, '127.0.0.1', resolve));
    upstreamPort = (fakeUpstream.address() as { port: number }).port;
    network = await PodNetwork.create([upstreamPort]);
  });
  afterAll(async () => {
    await network?.close();
    fakeUpstream?.close();
    await rm(dir, { recursive: true, force: true });
  });

  function runIn(identity: ContainerIdentity, script: string): Promise<{ code: number; stdout: string }> {
    const argv = containerArgv(
      network,
      identity,
      {
        binds: [{ path: join(dir, 'volume'), readOnly: false }],
        hidden: [join(dir, 'other')],
        termination: { hostFile: join(dir, 'termination-log'), containerPath: '/dev/termination-log' },
        readOnlyRoot: true,
        devStage: join(dir, 'dev'),
      },
      [process.execPath, '-e', script],
    );
    return new Promise((resolve) => {
      execFile(
        argv[0] ?? '',
        argv.slice(1),
        { env: { OUTSIDE: join(dir, 'outside'), VOLUME: join(dir, 'volume'), PORT: String(upstreamPort) } },
        (err, stdout) => resolve({ code: err ? Number(err.code) : 0, stdout }),
      );
    });
  }

  it('runs as the securityContext says: uid 0 with SETUID, SETGID and KILL only, no_new_privs', async () => {
    const { code, stdout } = await runIn(
      { uid: 0, gid: 0, groups: [10001], capabilities: ['setuid', 'setgid', 'kill'], noNewPrivs: true },
      REPORT,
    );
    expect(code, stdout).toBe(0);
    const seen = JSON.parse(stdout);
    expect(seen).toMatchObject({
      pid: 1,
      uid: 0,
      gid: 0,
      capEff: KILL_SETGID_SETUID,
      capBnd: KILL_SETGID_SETUID,
      capAmb: '0000000000000000',
      noNewPrivs: '1',
      // A read-only root; the volume is writable.
      root: 'EROFS',
      volume: 'ok',
    });
    expect(seen.groups).toContain(10001);
    // Its own PID namespace: it sees only itself. Its own network: loopback and the pod IP.
    expect(seen.processes).toBe(1);
    expect(seen.addresses).toEqual(expect.arrayContaining(['127.0.0.1', network.podIp]));
    expect(await readFile(join(dir, 'termination-log'), 'utf8')).toBe('bye');
  });

  it('runs as uid 10001 with no capability at all when it drops them all', async () => {
    const { code, stdout } = await runIn(
      { uid: 10001, gid: 10001, groups: [10001], capabilities: [], noNewPrivs: true },
      REPORT,
    );
    expect(code, stdout).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      uid: 10001,
      gid: 10001,
      capEff: '0'.repeat(16),
      capBnd: '0'.repeat(16),
    });
  });

  it('reaches the services outside at their 127.0.0.1 ports, and nothing else of the host', async () => {
    const connect = (port: string) => `
      const socket = require('node:net').connect(${port}, '127.0.0.1');
      socket.on('data', (d) => { process.stdout.write(String(d)); process.exit(0); });
      socket.on('error', (err) => { console.log(err.code); process.exit(0); });`;
    const identity = { uid: 10001, gid: 10001, groups: [], capabilities: [], noNewPrivs: true };
    expect((await runIn(identity, connect('process.env.PORT'))).stdout).toBe('upstream\n');
    // The host's own loopback services (here: RabbitMQ) are not the pod's.
    expect((await runIn(identity, connect('5672'))).stdout.trim()).toBe('ECONNREFUSED');
  });
});
