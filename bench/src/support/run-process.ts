import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export interface ProcessRun {
  exitCode: number | null;
  /** performance.now() at spawn. */
  startedAt: number;
  seconds: number;
  /** stdout and stderr. */
  output: string;
}

/** Runs `node --conditions=source <entry>` (or `command`) to its end, output to `logPath`. */
export async function runToEnd(options: {
  args: string[];
  env: Record<string, string>;
  cwd: string;
  logPath: string;
  command?: string;
}): Promise<ProcessRun> {
  const fd = openSync(options.logPath, 'w');
  const startedAt = performance.now();
  try {
    const child = spawn(options.command ?? process.execPath, options.args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', fd, fd],
    });
    const [exitCode] = (await once(child, 'exit')) as [number | null];
    const seconds = (performance.now() - startedAt) / 1000;
    return { exitCode, startedAt, seconds, output: await readFile(options.logPath, 'utf8') };
  } finally {
    closeSync(fd);
  }
}
