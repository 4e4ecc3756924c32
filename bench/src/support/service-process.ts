import { join } from 'node:path';
import { ServiceProcess as Service, serviceEntry } from '@anton/testing';
import { type ProcessMemory, processCpuMs, processMemory } from './process-usage.ts';

export { REPO_ROOT } from '@anton/testing';

export const ENTRY_POINTS = {
  ingester: serviceEntry('ingester'),
  orchestrator: serviceEntry('orchestrator'),
  runner: serviceEntry('runner'),
} as const;

/** The little environment every child needs besides its own configuration. */
export function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' };
}

/** `BENCH_CPU_PROF=<dir> pnpm bench ...` writes a CPU profile of every service process there. */
const PROFILE_DIR = process.env.BENCH_CPU_PROF;

export interface ServiceOptions {
  name: string;
  /** A .ts entry point, run as `node --conditions=source <entry>` (as the tests run them). */
  entry: string;
  /** The entry is compiled JS (a dist/ build, as the image runs it): no source condition. */
  compiled?: boolean;
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
 * A service as its own process from its real entry point, configured only by its environment,
 * with its output in a file: parsing every log line in this process, under load, would tax the
 * same event loop that drives the load.
 */
export async function startService(options: ServiceOptions): Promise<ServiceProcess> {
  const service = await Service.start({
    name: options.name,
    entry: options.entry,
    env: options.env,
    logFile: join(options.logDir, `${options.name}.log`),
    readyCheck: options.ready,
    readyTimeoutMs: 30_000,
    ...(options.compiled && { nodeArgs: [] }),
    ...(PROFILE_DIR && {
      nodeArgs: [
        ...(options.compiled ? [] : ['--conditions=source']),
        '--cpu-prof',
        `--cpu-prof-dir=${PROFILE_DIR}`,
        `--cpu-prof-name=${options.name}.cpuprofile`,
      ],
    }),
  });
  const pid = service.pid;
  if (pid === undefined) throw new Error(`${options.name} did not start`);
  return {
    memory: () => processMemory(pid),
    cpuMs: () => processCpuMs(pid),
    // How a service ends is not a figure: a non-zero exit or a kill after the timeout is not an error here.
    stop: async () => (await service.stop().catch(() => service.exited)).code,
  };
}

/** A readiness check: GET `url` answers 200. */
export function answers200(url: string): () => Promise<boolean> {
  return async () => (await fetch(url)).status === 200;
}
