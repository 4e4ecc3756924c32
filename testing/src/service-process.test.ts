import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess } from './service-process.ts';

// A stand-in service: a JSON log line and a plain one, then it waits for SIGTERM and exits 0.
const SERVICE = `
console.log(JSON.stringify({ msg: 'ready', task_id: 't-1' }));
console.log('plain text');
process.on('SIGTERM', () => {
  console.log(JSON.stringify({ msg: 'stopped' }));
  process.exit(0);
});
setInterval(() => {}, 1000);
`;

let dir: string;
let entry: string;
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'service-process-'));
  entry = join(dir, 'service.mjs');
  await writeFile(entry, SERVICE);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ServiceProcess', () => {
  it('keeps the JSON log lines, waits for the ready line, and stops with SIGTERM and exit 0', async () => {
    const service = await ServiceProcess.start({ name: 'svc', entry, env, ready: (line) => line.msg === 'ready' });
    await service.waitForLine((line) => line.msg === 'ready');
    expect(service.linesFor('t-1')).toEqual([{ msg: 'ready', task_id: 't-1' }]);
    await expect.poll(() => service.output).toContain('plain text');
    expect(await service.stop()).toEqual({ code: 0, signal: null });
    expect(service.lines.at(-1)).toEqual({ msg: 'stopped' });
  });

  it('fails at once, with its output, when the service exits before it is ready', async () => {
    const crashing = join(dir, 'crashing.mjs');
    await writeFile(crashing, "console.error('no config'); process.exit(3);");
    const started = ServiceProcess.start({ name: 'svc', entry: crashing, env, ready: () => false });
    await expect(started).rejects.toThrow(/svc exited \(3\) while waiting for readiness[\s\S]*no config/);
  });

  it('with logFile, appends the output to the file, keeps no lines, and is ready by its readyCheck', async () => {
    const logFile = join(dir, 'svc.log');
    const readyCheck = async () => (await readFile(logFile, 'utf8')).includes('"ready"');
    const service = await ServiceProcess.start({ name: 'svc', entry, env, logFile, readyCheck });
    expect(service.lines).toEqual([]);
    expect(service.output).toEqual([]);
    await expect(service.waitForLine(() => true)).rejects.toThrow(/no lines are kept/);
    expect((await service.stop()).code).toBe(0);
    const logged = await readFile(logFile, 'utf8');
    expect(logged).toContain('plain text');
    expect(logged).toContain('"stopped"');
    expect(service.tail()).toContain('"stopped"');
  });

  it('refuses a ready line together with logFile', async () => {
    const options = { name: 'svc', entry, env, logFile: join(dir, 'other.log'), ready: () => true };
    await expect(ServiceProcess.start(options)).rejects.toThrow(/use readyCheck/);
  });
});
