import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '@anton/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDead } from '../testing/processes.ts';
import { makeTempDir, type TempDir } from '../testing/temp-dir.ts';
import { killAgentProcesses } from './agent-sweep.ts';
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

/** Drains the FIFO; true while some process still holds its write end open (no EOF yet). */
function writersLeft(reader: number): boolean {
  const buffer = Buffer.alloc(4096);
  let seen = 0;
  for (;;) {
    try {
      const n = readSync(reader, buffer);
      if (n === 0) {
        if (seen === 0) throw new Error('no generation ever wrote to the FIFO');
        return false;
      }
      seen += n;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return true;
      throw err;
    }
  }
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
    await killAgentProcesses(user);
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

  it('kills a process that forks a new session and lets its parent exit, over and over (30 runs)', async () => {
    // Each generation lives 10 ms, then starts the next in a session of its own and exits: at any
    // instant one process runs, never the same one for long, in no group or chain of the command.
    // Every generation holds the write end of a FIFO: the read end sees EOF only once all are dead.
    // Before the fix, process-sweep.ts (snapshot, then each uid in turn) missed it in 2 of 3 runs.
    await writeFile(
      join(dir, 'hop.sh'),
      `n=\${1:-0}; [ "$n" -lt 1000 ] || exit 0; printf x >&3; [ "$n" = 2 ] && : > hopping; sleep 0.01; setsid sh ./hop.sh $((n + 1)) </dev/null >/dev/null 2>&1 &\n`,
    );
    const fifo = join(dir, 'hop.fifo');
    execFileSync('mkfifo', ['-m', '0666', fifo]);
    const shell = createShellRunner(options);
    for (let run = 1; run <= 30; run++) {
      const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        const result = await shell.run(
          'rm -f hopping; exec 3>hop.fifo; sh ./hop.sh </dev/null >/dev/null 2>&1 & until [ -e hopping ]; do sleep 0.01; done',
        );
        expect(result.exitCode).toBe(0);
        expect(writersLeft(reader), `run ${run}: a generation outlived its command`).toBe(false);
      } finally {
        closeSync(reader);
      }
    }
  }, 120_000);

  it('is not stopped by an agent that kills every process of its uid in a loop', async () => {
    // A killer running as the agent's own uid would be killed before it could act.
    const run = await createShellRunner(options).run(
      "setsid sh -c 'echo $$ > pid-looper; while :; do kill -9 -1; done' </dev/null >/dev/null 2>&1 & sleep 0.3",
    );
    expect(run.signal).toBe('SIGKILL');
    const [looper] = await pidsIn(dir);
    expect(looper).toBeGreaterThan(0);
    expect(await isDead(looper as number)).toBe(true);
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
