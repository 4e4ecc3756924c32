import { readFile } from 'node:fs/promises';

/** Resident memory of a process, from /proc/<pid>/status (Linux), in MB. */
export interface ProcessMemory {
  /** VmRSS: resident now. */
  rssMb: number;
  /** VmHWM: the highest resident size the process has had (its peak). */
  peakMb: number;
}

function field(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match?.[1]) throw new Error(`no ${name} in /proc status`);
  return Number(match[1]) / 1024;
}

export async function processMemory(pid: number): Promise<ProcessMemory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return { rssMb: field(status, 'VmRSS'), peakMb: field(status, 'VmHWM') };
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU time the process has used so far (user + system), from /proc/<pid>/stat, in ms. */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at state; utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
}
