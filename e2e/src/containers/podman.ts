import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Deployments' and Jobs' container security settings, as podman flags. */
export const RESTRICTED = [
  '--read-only',
  '--user=10001:10001',
  '--cap-drop=ALL',
  '--security-opt=no-new-privileges',
  // podman's healthcheck timers need systemd, which this machine has not; readiness is polled instead.
  '--no-healthcheck',
];

/** Runs podman (CONTAINERS_CONF comes from the caller, .ci/images) and returns its stdout. */
export async function podman(args: string[], { timeoutMs = 300_000 } = {}): Promise<string> {
  try {
    const { stdout } = await run('podman', args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`podman ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: err });
  }
}

export interface Container {
  name: string;
  logs(): Promise<string>;
  remove(): Promise<void>;
}

/** Starts a detached container; `remove` stops it (its logs are kept in the error when a check fails). */
export async function startContainer(name: string, args: string[]): Promise<Container> {
  await podman(['rm', '--force', '--ignore', name]);
  await podman(['run', '--detach', `--name=${name}`, ...args]);
  return {
    name,
    logs: async () => {
      const { stdout, stderr } = await run('podman', ['logs', name]).catch(() => ({ stdout: '', stderr: '' }));
      return stdout + stderr;
    },
    remove: async () => {
      await podman(['rm', '--force', '--time=5', name]).catch(() => undefined);
    },
  };
}
