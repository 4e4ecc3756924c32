import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function parentOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
}

async function commandLine(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
}

/** Every vitest process on the machine that is not this run's (its ancestors, its own workers). */
export async function otherVitestProcesses(): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-f', 'vitest']).catch(() => ({ stdout: '' }));
  const candidates = stdout.split('\n').filter(Boolean).map(Number);
  const ancestors: number[] = [];
  for (let pid = process.pid; pid > 1; pid = await parentOf(pid)) ancestors.push(pid);
  // This run: the topmost ancestor that is vitest, and everything under it.
  let root = process.pid;
  for (const pid of ancestors) if ((await commandLine(pid)).includes('vitest')) root = pid;
  const ours = async (pid: number) => {
    for (let current = pid; current > 1; current = await parentOf(current)) if (current === root) return true;
    return ancestors.includes(pid);
  };
  const others: number[] = [];
  for (const pid of candidates) if (!(await ours(pid))) others.push(pid);
  return others;
}

/**
 * Waits until no other vitest runs on this machine: restarting the shared broker would fail the
 * other engineers' (or CI jobs') tests. Fails, naming them, if they keep running past `timeoutMs`.
 */
export async function waitUntilNoOtherVitest({ timeoutMs = 10 * 60_000, intervalMs = 5_000 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const others = await otherVitestProcesses();
    if (others.length === 0) return;
    if (Date.now() > deadline) {
      const lines = await Promise.all(others.map(async (pid) => `${pid} ${await commandLine(pid)}`));
      throw new Error(
        `other vitest processes kept running; the broker restart needs the machine alone:\n${lines.join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
