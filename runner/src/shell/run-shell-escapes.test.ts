import { spawn } from 'node:child_process';
import { chmod, chown, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '@anton/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDead } from '../testing/processes.ts';
import { makeTempDir, type TempDir } from '../testing/temp-dir.ts';
import { type AgentUser, agentUserFor } from './agent-user.ts';
import { createShellRunner, type ShellRunnerOptions } from './run-shell.ts';
import { shellEnvironment } from './shell-env.ts';

// What an agent's command may try in order to outlive its turn or take the machine down, and what
// the runner does about it. The agent-user cases need the test to run as root (as the suite does
// here and in CI): that is when the runner gives the agent a uid of its own.
const limits = { maxProcesses: 4096, maxFileBytes: 64 * 1024 * 1024, cpuSeconds: 60 };

async function pidsIn(dir: string): Promise<number[]> {
  const names = (await readdir(dir)).filter((name) => name.startsWith('pid'));
  return Promise.all(names.map(async (name) => Number((await readFile(join(dir, name), 'utf8')).trim())));
}

/** Live processes whose real uid is `uid`. */
async function processesOf(uid: number): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const status = await readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
    if (new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status) && !/^State:\s+Z/m.test(status)) found.push(Number(name));
  }
  return found;
}

let tmp: TempDir;
let dir: string;
let options: ShellRunnerOptions;
beforeEach(async () => {
  tmp = await makeTempDir();
  dir = join(tmp.path, 'work');
  await mkdir(dir);
  options = { cwd: dir, env: shellEnvironment({ PATH: process.env.PATH }), timeoutMs: 10_000, limits };
});
afterEach(() => tmp.cleanup());

describe('as the runner’s own user', () => {
  it('kills a child that called setsid when the command times out', async () => {
    const run = await createShellRunner({ ...options, timeoutMs: 1_000 }).run(
      'setsid sleep 300 >/dev/null 2>&1 & echo $! > pid-setsid; sleep 100',
    );
    expect(run.timedOut).toBe(true);
    const [pid] = await pidsIn(dir);
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => isDead(pid as number), { what: `the setsid child ${pid} to die` });
  });
});

describe('as an agent user of its own (the runner runs as root)', () => {
  let user: AgentUser;
  beforeEach(async () => {
    const chosen = agentUserFor(process.geteuid?.());
    if (!chosen) throw new Error('these cases need the test to run as root');
    user = chosen;
    await chmod(tmp.path, 0o711);
    await chown(dir, user.uid, user.gid);
    options = { ...options, user };
  });
  afterEach(async () => {
    // Whatever a failing case left behind must not outlive it.
    for (const pid of await processesOf(user.uid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
  });

  it('runs commands as that user, with the process limit set', async () => {
    const run = await createShellRunner({ ...options, limits: { ...limits, maxProcesses: 64 } }).run(
      'id -u; id -g; ulimit -u',
    );
    expect(run.output.trim().split('\n')).toEqual([String(user.uid), String(user.gid), '64']);
  });

  it('kills what escaped the group and the parent chain once the command ends: setsid, double fork, env -i', async () => {
    const run = await createShellRunner(options).run(
      [
        "setsid sh -c 'sleep 300 & echo $! > pid-1' >/dev/null 2>&1 &",
        '(setsid sleep 301 >/dev/null 2>&1 & echo $! > pid-2) &',
        'env -i setsid nohup sleep 302 >/dev/null 2>&1 & echo $! > pid-3',
        'sleep 0.5',
      ].join('\n'),
    );
    expect(run.exitCode).toBe(0);
    const pids = await pidsIn(dir);
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(await isDead(pid), `process ${pid}`).toBe(true);
    expect(await processesOf(user.uid)).toEqual([]);
  });

  it('kills a daemon that would keep changing the workspace after its command timed out', async () => {
    const run = await createShellRunner({ ...options, timeoutMs: 1_000 }).run(
      "setsid sh -c 'while true; do date >> later.txt; sleep 0.05; done' >/dev/null 2>&1 & sleep 100",
    );
    expect(run.timedOut).toBe(true);
    expect(await processesOf(user.uid)).toEqual([]);
  });

  it('bounds a fork bomb by the process limit and kills all of it', async () => {
    const bounded = { ...options, timeoutMs: 3_000, limits: { ...limits, maxProcesses: 64 } };
    // Never start the bomb unless the limit really binds this command (as root it would not).
    const check = await createShellRunner(bounded).run('id -u; ulimit -u');
    expect(check.output.trim().split('\n')).toEqual([String(user.uid), '64']);
    const run = await createShellRunner(bounded).run(':(){ :|:& };:');
    expect(run.exitCode === 0 || run.timedOut).toBe(true);
    expect(await processesOf(user.uid)).toEqual([]);
  });

  it('cannot read the environment of any other process', async () => {
    const other = spawn('sleep', ['30'], { env: { PATH: process.env.PATH, ANTON_TEST_SECRET: 'sk-do-not-leak' } });
    try {
      const run = await createShellRunner(options).run(
        `tr '\\0' '\\n' < /proc/${other.pid}/environ; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -a SECRET; true`,
      );
      expect(run.output).toContain('Permission denied');
      expect(run.output).not.toContain('sk-do-not-leak');
    } finally {
      other.kill('SIGKILL');
    }
  });
});
