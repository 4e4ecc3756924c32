import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository's root: every package sits one level below it. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A package's entry point as the sources run it (`<pkg>/src/main.ts`), so tests need no build. */
export function serviceEntry(pkg: 'ingester' | 'orchestrator' | 'runner', entry = 'main'): string {
  return join(REPO_ROOT, pkg, 'src', `${entry}.ts`);
}

/** One JSON log line, as pino writes it. */
export type LogLine = Record<string, unknown> & { msg?: string };

export interface ServiceProcessOptions {
  /** How the test names it in messages (`ingester`, `orchestrator`...). */
  name: string;
  /** The script node runs. */
  entry: string;
  /** Node's own options (default `--conditions=source`, which the workspace's sources need). */
  nodeArgs?: string[];
  /** A command that execs node in the end (e.g. one that enters namespaces and drops privileges): its argv. */
  launcher?: string[];
  args?: string[];
  /** The process's whole environment: nothing of the test's own is inherited. */
  env: Record<string, string>;
  cwd?: string;
  /**
   * Append stdout and stderr to this file instead of reading them in this process: `lines` and
   * `output` stay empty, and `ready` cannot be used (use `readyCheck`). For load tests, where
   * parsing every log line would tax the event loop that drives the load.
   */
  logFile?: string;
  /** Resolves `start()` once a log line satisfies it (default: at once). */
  ready?: (line: LogLine) => boolean;
  /** Resolves `start()` once this check resolves true, asked again until then (a rejection counts as false). */
  readyCheck?: () => Promise<boolean>;
  readyTimeoutMs?: number;
}

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A service started from its real entry point as a child process, configured only by the
 * environment given: its JSON log lines are collected (other output is kept as text, for
 * failure messages) or its output goes to a file, and it is stopped the way a platform stops
 * it, with SIGTERM.
 */
export class ServiceProcess {
  readonly name: string;
  /** stdout and stderr lines that are JSON objects, in arrival order. */
  readonly lines: LogLine[] = [];
  /** Every line of output, JSON or not, stdout and stderr interleaved as they arrived. */
  readonly output: string[] = [];
  readonly exited: Promise<ServiceExit>;
  readonly #child: ChildProcess;
  readonly #logFile: string | undefined;
  #exit: ServiceExit | undefined;

  private constructor(name: string, child: ChildProcess, logFile: string | undefined) {
    this.name = name;
    this.#child = child;
    this.#logFile = logFile;
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
      child.once('error', (err) => {
        this.output.push(`spawn error: ${err.message}`);
        this.#exit = { code: null, signal: null };
        resolve(this.#exit);
      });
    });
    for (const readable of [child.stdout, child.stderr]) {
      if (!readable) continue;
      createInterface({ input: readable }).on('line', (line) => {
        this.output.push(line);
        const parsed = parseLogLine(line);
        if (parsed) this.lines.push(parsed);
      });
    }
  }

  static async start(options: ServiceProcessOptions): Promise<ServiceProcess> {
    const { logFile, ready, readyCheck } = options;
    if (logFile && ready) throw new Error(`${options.name}: with logFile no lines are kept; use readyCheck`);
    const fd = logFile ? openSync(logFile, 'a') : undefined;
    let child: ChildProcess;
    try {
      const node = [
        process.execPath,
        ...(options.nodeArgs ?? ['--conditions=source']),
        options.entry,
        ...(options.args ?? []),
      ];
      const [file = process.execPath, ...argv] = [...(options.launcher ?? []), ...node];
      child = spawn(file, argv, {
        cwd: options.cwd ?? REPO_ROOT,
        env: options.env,
        stdio: ['ignore', fd ?? 'pipe', fd ?? 'pipe'],
      });
    } finally {
      // The child holds its own copy of the descriptor.
      if (fd !== undefined) closeSync(fd);
    }
    const service = new ServiceProcess(options.name, child, logFile);
    const timeoutMs = options.readyTimeoutMs ?? 20_000;
    try {
      if (ready) await service.waitForLine(ready, { timeoutMs, what: 'readiness' });
      if (readyCheck) {
        const check = async () => ((await readyCheck().catch(() => false)) ? true : undefined);
        await service.#poll(check, timeoutMs, 'readiness');
      }
    } catch (err) {
      await service.kill();
      throw err;
    }
    return service;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The exit, once it has happened. */
  get exit(): ServiceExit | undefined {
    return this.#exit;
  }

  /** The first log line satisfying `predicate`, waiting for it; fails at once if the process exits. */
  async waitForLine(
    predicate: (line: LogLine) => boolean,
    { timeoutMs = 15_000, what = 'a log line' } = {},
  ): Promise<LogLine> {
    if (this.#logFile) throw new Error(`${this.name}: its output goes to ${this.#logFile}; no lines are kept`);
    return this.#poll(() => this.lines.find(predicate), timeoutMs, what);
  }

  /** Log lines that carry this task id. */
  linesFor(taskId: string): LogLine[] {
    return this.lines.filter((line) => line.task_id === taskId);
  }

  /** The last lines of output, for failure messages. */
  tail(count = 30): string {
    const output = this.#logFile ? readFileSync(this.#logFile, 'utf8').trimEnd().split('\n') : this.output;
    return `--- last output of ${this.name} ---\n${output.slice(-count).join('\n')}`;
  }

  /** Sends SIGTERM and waits for the exit; fails unless the process ends by itself with code 0 in time. */
  async stop({ timeoutMs = 15_000 } = {}): Promise<ServiceExit> {
    if (!this.#exit) this.#child.kill('SIGTERM');
    const exit = await Promise.race([this.exited, sleep(timeoutMs).then(() => undefined)]);
    if (!exit) {
      await this.kill();
      throw new Error(`${this.name} did not stop within ${timeoutMs} ms of SIGTERM\n${this.tail()}`);
    }
    if (exit.code !== 0) throw new Error(`${this.name} exited with ${exit.code ?? exit.signal}\n${this.tail()}`);
    return exit;
  }

  /** Ends the process at once (SIGKILL), for cleanup after a failure or a crash test. */
  async kill(): Promise<ServiceExit> {
    if (!this.#exit) this.#child.kill('SIGKILL');
    return this.exited;
  }

  /** What `find` gives, asking again until it gives something; fails at once if the process exits. */
  async #poll<T>(find: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await find();
      if (found !== undefined) return found;
      const exit = this.#exit;
      if (exit)
        throw new Error(`${this.name} exited (${exit.code ?? exit.signal}) while waiting for ${what}\n${this.tail()}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}\n${this.tail()}`);
      await sleep(20);
    }
  }
}

function parseLogLine(line: string): LogLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as LogLine) : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
