import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** One line of /proc/<pid>/stat, the fields the sweep decides on. */
interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  /** A zombie is already dead; it only waits for its parent to reap it. */
  zombie: boolean;
}

export interface SweepTarget {
  /** The command's process: leader of its own session and group (it was spawned detached). */
  commandPid: number;
  /** Still running (a timeout, an abort): it goes too, and its tree is still intact to follow. */
  running?: boolean;
}

const ROUNDS = 100;

/**
 * Best effort, for a runner that shares its uid with the agent (not root, an explicit opt-in): a
 * process that forks and lets its parent exit, over and over, can slip through it. With an agent
 * uid of its own the runner uses agent-sweep.ts instead, which nothing slips through.
 * Kills a command and whatever it left behind, wherever it went:
 * - its session and process group (what a plain `&` or `nohup` leaves);
 * - every process whose parent chain leads back to it (a child that called `setsid`, while the
 *   command still runs: once it has exited, such a child belongs to init);
 * - when the runner is PID 1 (its container), every process outside the runner's own session: in
 *   a container orphans are reparented to PID 1, so that is everything the agent started.
 * Repeats until nothing matches, so a process forking while it is being killed is caught too.
 * Returns how many processes it killed.
 */
export async function sweepProcesses(target: SweepTarget): Promise<number> {
  const self = process.pid;
  const selfSid = self === 1 ? (await readStat(self))?.sid : undefined;
  let killed = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const table = await processTable();
    const byPid = new Map(table.map((info) => [info.pid, info]));
    const doomed: number[] = [];
    for (const info of table) {
      if (info.pid === self || info.zombie) continue;
      // Once the command has exited and been reaped, a process with its pid is another one.
      if (info.pid === target.commandPid && !target.running) continue;
      if (
        info.pid === target.commandPid ||
        info.sid === target.commandPid ||
        info.pgid === target.commandPid ||
        descendsFrom(info, target.commandPid, byPid) ||
        (selfSid !== undefined && info.sid !== selfSid)
      ) {
        doomed.push(info.pid);
      }
    }
    if (doomed.length === 0) return killed;
    for (const pid of doomed) {
      try {
        process.kill(pid, 'SIGKILL');
        killed += 1;
      } catch {
        // ESRCH: gone meanwhile.
      }
    }
    await sleep(10);
  }
  throw new Error(`processes of the command ${target.commandPid} kept appearing after ${ROUNDS} rounds of killing`);
}

function descendsFrom(info: ProcessInfo, ancestor: number, byPid: Map<number, ProcessInfo>): boolean {
  let current: ProcessInfo | undefined = info;
  for (let depth = 0; current && depth < 4096; depth++) {
    if (current.ppid === ancestor) return true;
    if (current.ppid <= 1) return false;
    current = byPid.get(current.ppid);
  }
  return false;
}

async function processTable(): Promise<ProcessInfo[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const infos = await Promise.all(pids.map(readStat));
  return infos.filter((info): info is ProcessInfo => info !== undefined);
}

async function readStat(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state ppid pgrp session ... (comm may hold spaces and parentheses).
    const [state, ppid, pgid, sid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(ppid), pgid: Number(pgid), sid: Number(sid), zombie: state === 'Z' || state === 'X' };
  } catch {
    return undefined;
  }
}
