import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/**
 * Zeroes this process's initial environment block, which stays readable as /proc/<pid>/environ
 * for the process's lifetime whatever `process.env` later says: any child of the same user (the
 * agent's shell, whose parent this is) could read it. Call it once the configuration is parsed;
 * `process.env` is empty afterwards. Linux only, best effort: a kernel or sandbox that refuses
 * the write leaves the block as it was and the result says so.
 */
export function scrubInitialEnvironment(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may hold spaces and parentheses); env_start and
    // env_end are fields 50 and 51 of proc(5), i.e. indexes 47 and 48 counted from field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[47]);
    const end = Number(fields[48]);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) return false;
    const fd = openSync('/proc/self/mem', 'r+');
    try {
      writeSync(fd, Buffer.alloc(end - start), 0, end - start, start);
    } finally {
      closeSync(fd);
    }
    return readFileSync('/proc/self/environ').every((byte) => byte === 0);
  } catch {
    return false;
  }
}
