import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type ProcessMemory, processCpuMs, processMemory } from './process-usage.ts';

/** The repository root: services are started from their real entry points under it. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const ENTRY_POINTS = {
  ingester: join(REPO_ROOT, 'ingester/src/main.ts'),
  orchestrator: join(REPO_ROOT, 'orchestrator/src/main.ts'),
  runner: join(REPO_ROOT, 'runner/src/main.ts'),
} as const;

/** The little environment every child needs besides its own configuration. */
export function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' };
}

export interface ServiceOptions {
  name: string;
  /** A .ts entry point, run as `node --conditions=source <entry>` (as the tests run them). */
  entry: string;
  /** The whole environment of the process, as in a container. */
  env: Record<string, string>;
  /** Where stdout and stderr go (a file, so reading logs costs the benchmark nothing while it runs). */
  logDir: string;
  /** Resolves true once the service can take work (within 30 s). */
  ready: () => Promise<boolean>;
}

export interface ServiceProcess {
  memory(): Promise<ProcessMemory>;
  /** CPU time used so far, in ms. */
  cpuMs(): Promise<number>;
  /** SIGTERM, then SIGKILL if it has not exited in time; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * A service as its own process from its real entry point, configured only by its environment.
 * Like e2e's ServiceProcess, except that its output goes to a file: the e2e harness reads and
 * parses every log line in the parent, which under load (three lines per webhook at thousands
 * of webhooks a second) would tax the same event loop that drives the load.
 */
export async function startService(options: ServiceOptions): Promise<ServiceProcess> {
  const logPath = join(options.logDir, `${options.name}.log`);
  const fd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['--conditions=source', options.entry], {
      env: options.env,
      cwd: REPO_ROOT,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name} did not start`);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const logs = () => readFile(logPath, 'utf8').catch(() => '');
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code] = await exited;
    clearTimeout(timer);
    return code;
  };
  try {
    const deadline = Date.now() + 30_000;
    while (!(await options.ready().catch(() => false))) {
      if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode}: ${await logs()}`);
      if (Date.now() > deadline) throw new Error(`${options.name} was not ready in time: ${await logs()}`);
      await sleep(50);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { memory: () => processMemory(pid), cpuMs: () => processCpuMs(pid), stop };
}

/** A readiness check: GET `url` answers 200. */
export function answers200(url: string): () => Promise<boolean> {
  return async () => (await fetch(url)).status === 200;
}
