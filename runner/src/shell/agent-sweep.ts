import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentUser } from './agent-user.ts';

/** setresuid(2) by architecture: perl's syscall() needs the number, and it differs. */
const SETRESUID: Partial<Record<NodeJS.Architecture, number>> = { x64: 117, arm64: 147, riscv64: 147 };

// Same range as agent-user.ts: no other process uses a random uid in it.
const FIRST_UID = 1_000_000;
const LAST_UID = 2_000_000_000;
const ROUNDS = 50;

/**
 * The killer, in perl (perl-base is in every Debian system) because it must call setresuid(2),
 * which node cannot: real and saved uid a fresh one of its own, effective uid the agent's. Then it
 * may signal every process of the agent's uid (its effective uid matches their real uid), but no
 * agent process may signal it (neither its real nor its saved uid is theirs), so an agent looping
 * on `kill -9 -1` cannot kill the killer first. It holds no capability (no uid of it is 0).
 * `kill(-1, SIGKILL)` is atomic with respect to fork: every process the uid has at that instant
 * gets the signal, and one in the middle of a fork fails it, so no forking process slips through.
 */
const KILLER = [
  'my ($own, $agent, $nr) = map { 0 + $_ } @ARGV;',
  '$) = "$own $own"; $( = $own;',
  'syscall($nr, $own, $agent, $own) == 0 or die "setresuid: $!\\n";',
  'kill "KILL", -1;',
].join(' ');

/**
 * Kills every process of the agent's uid, however it got there (a double fork, setsid, a process
 * that forks and lets its parent exit, over and over), and waits until none is left running.
 * Zombies are dead already and are left to init to reap (the images run tini as PID 1).
 * The agent's commands run one at a time, so nothing of the uid that must survive exists here.
 */
export async function killAgentProcesses(user: AgentUser): Promise<void> {
  const nr = SETRESUID[process.arch];
  if (nr === undefined) throw new Error(`cannot sweep the agent's processes on ${process.arch}`);
  for (let round = 0; round < ROUNDS; round++) {
    await runKiller(user, nr);
    // Signalled processes die on their way back to user space; wait for the slow ones.
    if ((await liveProcessesOf(user.uid)).length === 0) return;
    await sleep(10);
  }
  throw new Error(`processes of the agent's uid ${user.uid} are still running after ${ROUNDS} sweeps`);
}

function runKiller(user: AgentUser, nr: number): Promise<void> {
  let own = randomInt(FIRST_UID, LAST_UID);
  if (own === user.uid) own += 1;
  return new Promise((resolve, reject) => {
    const child = spawn('perl', ['-e', KILLER, String(own), String(user.uid), String(nr)], {
      env: { PATH: '/usr/bin:/bin' },
      cwd: '/',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`the agent process killer failed (${code}): ${stderr.trim()}`)),
    );
  });
}

/** Processes (not zombies) with the uid as real, effective or saved uid. */
export async function liveProcessesOf(uid: number): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const live = await Promise.all(
    pids.map(async (pid) => {
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
      const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status)?.slice(1).map(Number) ?? [];
      return uids.includes(uid) && !/^State:\s+[ZX]/m.test(status) ? [Number(pid)] : [];
    }),
  );
  return live.flat();
}
