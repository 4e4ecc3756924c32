import { type ChildProcess, spawn } from 'node:child_process';
import { LIMITS } from '../tools/output-limits.ts';
import { killAgentProcesses } from './agent-sweep.ts';
import type { AgentUser } from './agent-user.ts';
import { OutputCollector } from './output-collector.ts';
import { sweepProcesses } from './process-sweep.ts';

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
  /** Run every command as this user (see agent-user.ts); unset: as the runner's own user. */
  user?: AgentUser;
}

export interface ShellRunner {
  /** Runs a bash command line in the repository; `timeoutMs` replaces the runner's default for this one. */
  run(command: string, signal?: AbortSignal, timeoutMs?: number): Promise<ShellRun>;
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
    run: (command, signal, timeoutMs) =>
      runProcess(
        'bash',
        ['--noprofile', '--norc', '-c', wrapper, 'anton-shell', command],
        timeoutMs === undefined ? options : { ...options, timeoutMs },
        signal,
      ),
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
 * Runs in its own session and process group (detached), killed on timeout, abort or a flood of
 * output. Once the command has exited, everything it left behind is killed: with an agent user of
 * its own, every process of that uid, race-free (agent-sweep.ts), so no process of the agent
 * outlives its command: none can change the workspace after the review, or talk to the proxy
 * later. Without one (the runner is not root, an explicit opt-in), only what process-sweep.ts can
 * find: the group, the session, the parent chain.
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
        ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
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
    // With an agent uid of its own: every process of that uid, atomically (agent-sweep.ts).
    // Without one: the whole tree while it is still a tree, so a child that left the group
    // (setsid) is found through its parent before that parent dies.
    const sweep = (running: boolean): Promise<unknown> => {
      if (options.user) return killAgentProcesses(options.user);
      return child.pid === undefined ? Promise.resolve() : sweepProcesses({ commandPid: child.pid, running });
    };
    const stop = () => {
      sweep(true).catch(killGroup);
    };
    const onData = (chunk: Buffer) => {
      collector.push(chunk);
      if (collector.totalBytes > killBytes && !outputLimitHit) {
        outputLimitHit = true;
        stop();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = () => stop();
    signal?.addEventListener('abort', onAbort, { once: true });

    child.once('error', (err) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.once('exit', (exitCode, exitSignal) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      killGroup();
      const finish = () =>
        resolve({ output: collector.text(), exitCode, signal: exitSignal, timedOut, outputLimitHit });
      const closed = new Promise<void>((done) => child.once('close', () => done()));
      sweep(false).then(async () => {
        // Everything holding the pipes is dead now; the grace only covers a pipe held elsewhere.
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([
          closed,
          new Promise((done) => {
            grace = setTimeout(done, 2_000);
          }),
        ]);
        clearTimeout(grace);
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, reject);
    });
  });
}
