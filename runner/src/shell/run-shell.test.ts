import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '@anton/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDead } from '../testing/processes.ts';
import { makeTempDir, type TempDir } from '../testing/temp-dir.ts';
import { createShellRunner, type ShellRunnerOptions } from './run-shell.ts';
import { shellEnvironment } from './shell-env.ts';

const execFileAsync = promisify(execFile);
const limits = { maxProcesses: 4096, maxFileBytes: 64 * 1024 * 1024, cpuSeconds: 60 };

describe('shell runner', () => {
  let tmp: TempDir;
  let options: ShellRunnerOptions;
  beforeEach(async () => {
    tmp = await makeTempDir();
    options = { cwd: tmp.path, env: shellEnvironment({ PATH: process.env.PATH }), timeoutMs: 10_000, limits };
  });
  afterEach(() => tmp.cleanup());

  it('runs in the repository, interleaves stderr, reports the exit code', async () => {
    const run = await createShellRunner(options).run('pwd; echo out; echo err >&2; exit 3');
    expect(run.exitCode).toBe(3);
    expect(run.output).toContain(tmp.path);
    expect(run.output).toMatch(/out\nerr/);
  });

  it('gives the command only the allowlisted environment', async () => {
    const env = shellEnvironment({ PATH: process.env.PATH, HOME: '/tmp', ANTHROPIC_API_KEY: 'sk-ant-secret' } as never);
    const run = await createShellRunner({ ...options, env: { ...env } }).run('env');
    expect(run.output).not.toContain('sk-ant-secret');
    const names = run.output
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('=')[0]);
    expect(names).toContain('GIT_CONFIG_NOSYSTEM');
    expect(names).not.toContain('ANTHROPIC_API_KEY');
  });

  it('kills the whole process group on timeout, children and background included', async () => {
    const pidFile = join(tmp.path, 'pids');
    const run = await createShellRunner({ ...options, timeoutMs: 1_000 }).run(
      `sleep 300 & echo $! > ${pidFile}; bash -c 'sleep 301' & echo $! >> ${pidFile}; wait`,
    );
    expect(run.timedOut).toBe(true);
    expect(run.exitCode).toBeNull();
    const pids = (await readFile(pidFile, 'utf8')).trim().split('\n').map(Number);
    expect(pids).toHaveLength(2);
    for (const pid of pids) await waitFor(() => isDead(pid), { what: `process ${pid} to die` });
  });

  it('kills what a finished command left running in the background', async () => {
    const pidFile = join(tmp.path, 'bg');
    const run = await createShellRunner(options).run(`nohup sleep 300 >/dev/null 2>&1 & echo $! > ${pidFile}`);
    expect(run.exitCode).toBe(0);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    await waitFor(() => isDead(pid), { what: `process ${pid} to die` });
  });

  it('keeps memory bounded when a command prints 100 MB', async () => {
    // In a fresh process, so its peak RSS measures the runner alone: 100 MB buffered would show.
    const script = `
      const { createShellRunner } = await import(${JSON.stringify(new URL('./run-shell.ts', import.meta.url).pathname)});
      const shell = createShellRunner({ cwd: process.cwd(), env: { PATH: process.env.PATH }, timeoutMs: 60000,
        limits: { maxProcesses: 4096, maxFileBytes: 1 << 26, cpuSeconds: 60 }, killBytes: 200 * 1024 * 1024 });
      const run = await shell.run("head -c 100000000 /dev/zero | tr '\\\\0' a; echo; echo THE-END");
      console.log(JSON.stringify({ exitCode: run.exitCode, length: run.output.length, dropped: run.output.includes('bytes of output dropped'),
        end: run.output.trimEnd().endsWith('THE-END'), maxRssKb: process.resourceUsage().maxRSS }));
    `;
    const { stdout } = await execFileAsync(
      process.execPath,
      ['--conditions=source', '--input-type=module', '-e', script],
      {
        cwd: tmp.path,
        env: { PATH: process.env.PATH },
      },
    );
    const measured = JSON.parse(stdout);
    expect(measured).toMatchObject({ exitCode: 0, dropped: true, end: true });
    expect(measured.length).toBeLessThan(300 * 1024);
    // 100 MB went through: kept whole it peaks near 400 MB; bounded, under 100 MB.
    expect(measured.maxRssKb).toBeLessThan(200 * 1024);
  });

  it('stops a command whose output passes the kill limit', async () => {
    const run = await createShellRunner({ ...options, killBytes: 1024 * 1024 }).run('yes anton');
    expect(run.outputLimitHit).toBe(true);
    expect(run.exitCode).toBeNull();
  });

  it('applies ulimits to the command', async () => {
    const run = await createShellRunner({ ...options, limits: { ...limits, maxFileBytes: 1024 * 1024 } }).run(
      'ulimit -f',
    );
    expect(run.output.trim()).toBe('1024');
  });

  it('runs git with arguments, not a command line', async () => {
    const run = await createShellRunner(options).git(['--version']);
    expect(run.exitCode).toBe(0);
    expect(run.output).toMatch(/^git version/);
  });
});
