import { type ChildProcess, spawn } from 'node:child_process';
import { LIMITS } from '../tools/output-limits.ts';
import { OutputCollector } from './output-collector.ts';

export interface ShellRun {
  /** stdout and stderr interleaved, bounded (see OutputCollector). */
  output: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Stopped because it printed more than LIMITS.shellKillBytes. */
  outputLimitHit: boolean;
}

export interface ShellLimits {
  /** RLIMIT_NPROC: bounds a fork bomb (not enforced for root). */
  maxProcesses: number;
  /** RLIMIT_FSIZE in bytes: no single file the agent writes grows past this. */
  maxFileBytes: number;
  /** RLIMIT_CPU in seconds, per process. */
  cpuSeconds: number;
}

export interface ShellRunnerOptions {
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  limits: ShellLimits;
  keepBytes?: number;
  killBytes?: number;
}

export interface ShellRunner {
  /** Runs a bash command line in the repository. */
  run(command: string, signal?: AbortSignal): Promise<ShellRun>;
  /** Runs git with arguments (no shell parsing) in the repository, same environment and limits. */
  git(args: string[], signal?: AbortSignal): Promise<ShellRun>;
}

/**
 * Applies the limits, then runs the command given as $1 (never spliced into this script). stderr
 * joins stdout so the model sees messages where they happened. A limit the kernel refuses (a
 * hard limit already lower) is skipped rather than failing the command.
 */
function wrapperScript({ maxProcesses, maxFileBytes, cpuSeconds }: ShellLimits): string {
  const blocks = Math.max(1, Math.floor(maxFileBytes / 1024));
  return [
    `ulimit -u ${maxProcesses} 2>/dev/null`,
    `ulimit -f ${blocks} 2>/dev/null`,
    `ulimit -t ${cpuSeconds} 2>/dev/null`,
    'exec 2>&1',
    'eval "$1"',
  ].join('; ');
}

export function createShellRunner(options: ShellRunnerOptions): ShellRunner {
  const wrapper = wrapperScript(options.limits);
  return {
    run: (command, signal) =>
      runProcess('bash', ['--noprofile', '--norc', '-c', wrapper, 'anton-shell', command], options, signal),
    git: (args, signal) =>
      runProcess(
        'bash',
        ['--noprofile', '--norc', '-c', `${wrapper.replace('eval "$1"', 'exec git "$@"')}`, 'git', ...args],
        options,
        signal,
      ),
  };
}

/**
 * Runs in its own process group (detached), so on timeout, abort or exit the whole group goes:
 * children and anything left in the background included. Only a process that leaves the group on
 * purpose (setsid) escapes, and it is then cut off from the output pipes.
 */
function runProcess(
  file: string,
  args: string[],
  options: ShellRunnerOptions,
  signal: AbortSignal | undefined,
): Promise<ShellRun> {
  const collector = new OutputCollector(options.keepBytes ?? LIMITS.shellKeptBytes);
  const killBytes = options.killBytes ?? LIMITS.shellKillBytes;
  return new Promise((resolve, reject) => {
    let timedOut = false;
    let outputLimitHit = false;
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        cwd: options.cwd,
        env: options.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      reject(err);
      return;
    }
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const onData = (chunk: Buffer) => {
      collector.push(chunk);
      if (collector.totalBytes > killBytes && !outputLimitHit) {
        outputLimitHit = true;
        killGroup();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    const onAbort = () => killGroup();
    signal?.addEventListener('abort', onAbort, { once: true });

    child.once('error', (err) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.once('exit', (exitCode, exitSignal) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Background processes the command left behind die with their group.
      killGroup();
      const finish = () =>
        resolve({ output: collector.text(), exitCode, signal: exitSignal, timedOut, outputLimitHit });
      // The pipes close once every holder is gone; one that escaped the group must not hold us.
      const grace = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, 2_000);
      child.once('close', () => {
        clearTimeout(grace);
        finish();
      });
    });
  });
}
