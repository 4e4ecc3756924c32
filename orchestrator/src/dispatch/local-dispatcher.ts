import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTEXT_FILE, jobName } from '@anton/contracts';
import type { Logger } from 'pino';
import type { Capacity } from '../capacity.ts';
import type { RunnerStatus } from '../dedup.ts';
import { PermanentError, RetryableError } from '../errors.ts';
import type { UpstreamName } from '../job-values.ts';
import { runnerStatusOf } from '../outcomes/claim-policy.ts';
import { decideOutcome } from '../outcomes/decide-outcome.ts';
import { dispatchedTaskInput, type FinishedTask, finishedTask } from '../outcomes/finished-task.ts';
import { runTask } from '../outcomes/reported-facts.ts';
import { buildRunnerContext } from '../runner-context.ts';
import { type BudgetConfig, taskBudgetUsd } from '../task-budget.ts';
import type { Dispatcher, DispatchRequest, DispatchResult } from './dispatcher.ts';
import { accepts, freePort } from './local-ports.ts';

export interface LocalDispatcherOptions {
  /** The runner package: `src/main.ts` and `src/credential-proxy/main.ts`, or their `dist/*.js` builds. */
  runnerDir: string;
  /** The keys, given to the credential proxy only. */
  keys: { anthropic?: string | undefined; openai?: string | undefined; github?: string | undefined };
  upstreams: Partial<Record<UpstreamName, string>>;
  /** The task budget its credential proxy enforces, by complexity. */
  budget: BudgetConfig;
  /** PATH for the children (git, node); nothing else of the orchestrator's environment reaches them. */
  path: string;
  /**
   * Run runners although this process is not root (LOCAL_RUNNER_UNSAFE_SHARED_UID): they cannot
   * give the agent a uid of its own, so the agent runs as this user and can read its keys.
   */
  unsafeSharedUid?: boolean;
  /** This process's effective uid (a test's stand-in); default process.geteuid(). */
  euid?: number | undefined;
  capacity: Capacity;
  logger: Logger;
  /** How long the proxy may take to listen. */
  proxyStartTimeoutMs?: number;
  /** Told each run's outcome, from the child's exit and its result file (once per run). */
  onFinished?: (finished: FinishedTask) => void;
}

interface LocalRun {
  status: RunnerStatus;
  runner?: ChildProcess;
  proxy?: ChildProcess;
  exited?: Promise<void>;
}

/**
 * Runs each task's runner as a child process, the way a Job's pod runs it: the same task.json (in a
 * temp dir, at CONTEXT_PATH), the same environment as the `agent` container, and the credential
 * proxy as a second child holding the keys, on a free port. Used by `pnpm dev` and the e2e suite.
 */
export class LocalDispatcher implements Dispatcher {
  readonly #options: LocalDispatcherOptions;
  readonly #runs = new Map<string, LocalRun>();

  constructor(options: LocalDispatcherOptions) {
    this.#options = options;
    if (this.#sharesUid() && options.unsafeSharedUid) options.logger.warn(SHARED_UID_WARNING);
  }

  /** Not root: a runner started from here cannot run its agent as another uid. */
  #sharesUid(): boolean {
    return ('euid' in this.#options ? this.#options.euid : process.geteuid?.()) !== 0;
  }

  runnerName(taskId: string): string {
    return jobName(taskId.toLowerCase());
  }

  async dispatch(request: DispatchRequest, parentLogger: Logger): Promise<DispatchResult> {
    const taskId = request.task.task_id;
    const runnerName = this.runnerName(taskId);
    if (this.#runs.has(runnerName)) return { runnerName, created: false };
    const run: LocalRun = { status: 'active' };
    this.#runs.set(runnerName, run);
    this.#report();

    const logger = parentLogger.child({ runner: runnerName });
    if (this.#sharesUid()) {
      if (!this.#options.unsafeSharedUid) {
        this.#runs.delete(runnerName);
        this.#report();
        throw new PermanentError(SHARED_UID_REFUSAL);
      }
      logger.warn(SHARED_UID_WARNING);
    }
    const dir = await mkdtemp(join(tmpdir(), 'anton-run-'));
    // Searchable by others: a runner started as root runs its agent as a uid of its own, which must
    // reach the workspace in here (runner/src/shell/agent-user.ts).
    await chmod(dir, 0o711);
    try {
      const paths = {
        context: join(dir, 'context', CONTEXT_FILE),
        work: join(dir, 'workspace'),
        home: join(dir, 'home'),
        terminationLog: join(dir, 'termination-log'),
      };
      await Promise.all([mkdir(join(dir, 'context')), mkdir(paths.work), mkdir(paths.home)]);
      await writeFile(paths.context, `${JSON.stringify(buildRunnerContext(request), null, 2)}\n`, { mode: 0o444 });

      const port = await freePort();
      run.proxy = this.#spawn('credential-proxy', ['credential-proxy', 'main'], this.#proxyEnv(request, port), logger);
      await this.#waitForPort(port, run.proxy);
      run.runner = this.#spawn(
        'runner',
        ['main'],
        {
          PATH: this.#options.path,
          TASK_ID: taskId,
          TEMPLATE_ID: request.plan.template_id,
          COMPLEXITY: request.plan.complexity,
          CONTEXT_PATH: paths.context,
          WORK_DIR: paths.work,
          HOME: paths.home,
          CREDENTIAL_PROXY_URL: `http://127.0.0.1:${port}`,
          TERMINATION_LOG: paths.terminationLog,
          ...(this.#options.unsafeSharedUid ? { LOCAL_RUNNER_UNSAFE_SHARED_UID: 'true' } : {}),
        },
        logger,
      );
      run.exited = this.#whenDone(run, request, dir, paths.terminationLog, logger);
      logger.info({ port, dir }, 'local runner started');
      return { runnerName, created: true };
    } catch (err) {
      run.proxy?.kill('SIGTERM');
      this.#runs.delete(runnerName);
      this.#report();
      await rm(dir, { recursive: true, force: true });
      const message = `cannot start the local runner: ${(err as Error).message}`;
      if (err instanceof PermanentError) throw new PermanentError(message, { cause: err });
      throw new RetryableError(message, { cause: err });
    }
  }

  async status(taskId: string): Promise<RunnerStatus> {
    return this.#runs.get(this.runnerName(taskId))?.status ?? 'missing';
  }

  /** Stops every running child (SIGTERM) and waits for them, so no runner outlives the orchestrator. */
  async close(): Promise<void> {
    const running = [...this.#runs.values()].filter((run) => run.status === 'active');
    for (const run of running) run.runner?.kill('SIGTERM');
    await Promise.all(running.map((run) => run.exited));
  }

  #proxyEnv(request: DispatchRequest, port: number): Record<string, string> {
    const { keys, upstreams, path, budget } = this.#options;
    const env: Record<string, string> = {
      PATH: path,
      TASK_ID: request.task.task_id,
      PROXY_PORT: String(port),
      ALLOWED_REPOSITORY: request.repository.url,
      TASK_BUDGET_USD: String(taskBudgetUsd(budget, request.plan.complexity)),
      ...upstreams,
    };
    if (keys.anthropic) env.ANTHROPIC_API_KEY = keys.anthropic;
    if (keys.openai) env.OPENAI_API_KEY = keys.openai;
    if (keys.github) env.GITHUB_TOKEN = keys.github;
    return env;
  }

  /** `node <runner>/src/<entry>.ts` (sources, as in development) or `node <runner>/dist/<entry>.js` (a build). */
  #spawn(name: string, entry: string[], env: Record<string, string>, logger: Logger): ChildProcess {
    const source = join(this.#options.runnerDir, 'src', ...entry.slice(0, -1), `${entry.at(-1)}.ts`);
    const built = join(this.#options.runnerDir, 'dist', ...entry.slice(0, -1), `${entry.at(-1)}.js`);
    const args = existsSync(source) ? ['--conditions=source', source] : [built];
    const child = spawn(process.execPath, args, {
      cwd: this.#options.runnerDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const childLogger = logger.child({ process: name });
    const lastLines: string[] = [];
    for (const [stream, readable] of [
      ['stdout', child.stdout],
      ['stderr', child.stderr],
    ] as const) {
      createInterface({ input: readable }).on('line', (line) => {
        childLogger.info({ stream, line }, `${name} output`);
        lastLines.push(line);
        if (lastLines.length > 3) lastLines.shift();
      });
    }
    const output: ChildOutput = { lastLines, closed: once(child, 'close').then(noop, noop) };
    OUTPUT.set(child, output);
    child.on('error', (err) => {
      output.error = err;
      childLogger.error({ err }, `${name} could not start`);
    });
    return child;
  }

  async #waitForPort(port: number, proxy: ChildProcess): Promise<void> {
    const deadline = Date.now() + (this.#options.proxyStartTimeoutMs ?? 15_000);
    while (Date.now() < deadline) {
      const spawnError = OUTPUT.get(proxy)?.error;
      if (spawnError) throw spawnError;
      if (proxy.exitCode !== null || proxy.signalCode !== null) {
        // Its last lines usually say why; they are in once its output streams have closed.
        const output = OUTPUT.get(proxy);
        await Promise.race([output?.closed, sleep(1000)]);
        const said = (output?.lastLines ?? []).join(' | ');
        const message = `the credential proxy exited (${proxy.exitCode ?? proxy.signalCode}) before listening${said ? `: ${said}` : ''}`;
        // Exit code 2 is its refusal of the configuration (missing keys, say): another attempt
        // would be refused alike, so the task is dead-lettered at once with that reason.
        throw proxy.exitCode === 2 ? new PermanentError(message) : new Error(message);
      }
      if (await accepts(port)) return;
      await sleep(50);
    }
    throw new Error(`the credential proxy did not listen on ${port} in time`);
  }

  /** The child's exit and its result file make the outcome, as a Job's condition and termination message do. */
  async #whenDone(
    run: LocalRun,
    request: DispatchRequest,
    dir: string,
    terminationLog: string,
    logger: Logger,
  ): Promise<void> {
    const exit = await new Promise<string | undefined>((resolve) => {
      run.runner?.on('exit', (code, signal) =>
        resolve(code === 0 ? undefined : signal ? `killed by ${signal}` : `exit code ${code}`),
      );
      run.runner?.on('error', (err) => resolve(`did not start: ${err.message}`)); // no 'exit' follows
    });
    run.proxy?.kill('SIGTERM');
    const message = await readFile(terminationLog, 'utf8').catch(() => undefined);
    const outcome = decideOutcome(
      { succeeded: exit === undefined, ...(exit && { failure: { reason: exit } }), message },
      runTask(request.task.task_id, request.task.external_id, request.repository.url),
    );
    run.status = runnerStatusOf(outcome.status);
    this.#report();
    logger.info(
      { exit, status: outcome.status, pr_url: outcome.pr_url, reason: outcome.reason },
      'local runner finished',
    );
    await rm(dir, { recursive: true, force: true });
    this.#options.onFinished?.(finishedTask(dispatchedTaskInput(request), outcome, new Date()));
  }

  #report(): void {
    const active = [...this.#runs].filter(([, run]) => run.status === 'active').map(([name]) => name);
    this.#options.capacity.update(active, this.#runs.keys());
  }
}

const SHARED_UID_REFUSAL =
  'cannot start the local runner: the orchestrator is not root, so its runner would run the agent as ' +
  "this user, which can read this process's keys (/proc/<pid>/environ): run it as root (the runner " +
  'then gives the agent a uid of its own), or set LOCAL_RUNNER_UNSAFE_SHARED_UID=true to accept that';
const SHARED_UID_WARNING =
  'UNSAFE: LOCAL_RUNNER_UNSAFE_SHARED_UID=true and the orchestrator is not root: local runners run the ' +
  "agent as this user, which can read every key of this user's processes";

/** The last lines each child wrote, to explain an early exit. */
interface ChildOutput {
  lastLines: string[];
  closed: Promise<void>;
  error?: Error;
}
const OUTPUT = new WeakMap<ChildProcess, ChildOutput>();
const noop = () => undefined;
