import { emptyUsage, encodeRunnerResult } from '@anton/contracts';
import { apiClients } from './clients.ts';
import { loadConfig, type RunnerConfig, terminationLogPath } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { newProxyKey } from './proxy-claim.ts';
import { outcome, type RunOutcome } from './run-outcome.ts';
import { runTask } from './run-task.ts';
import { scrubInitialEnvironment } from './scrub-environ.ts';
import { type AgentUser, agentUserFor } from './shell/agent-user.ts';
import { terminationLogFile, writeTerminationLog } from './termination-log.ts';

const SHARED_UID_REFUSAL =
  "the runner is not root, so the agent would run as the runner's own user and could read every key " +
  "of this machine's processes (/proc/*/environ) and outlive its commands: run the runner as root " +
  '(it then runs the agent as a uid of its own), or set LOCAL_RUNNER_UNSAFE_SHARED_UID=true to accept that';
const SHARED_UID_WARNING =
  'UNSAFE: LOCAL_RUNNER_UNSAFE_SHARED_UID=true and the runner is not root: the agent runs as the ' +
  "runner's own user and can read the keys of every process of that user; use this only with keys you would give the agent";

async function finish(logger: Logger, path: string | undefined, ended: RunOutcome): Promise<never> {
  logger.info({ result: ended.result, exit_code: ended.exitCode }, 'run finished');
  const failed = await writeTerminationLog(path, encodeRunnerResult(ended.result));
  if (failed) logger.warn({ err: failed, path }, 'cannot write the termination log');
  // pino writes stdout asynchronously: the result line must be out before the process is.
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  process.exit(ended.exitCode);
}

async function run(config: RunnerConfig, logger: Logger, agentUser: AgentUser | undefined): Promise<RunOutcome> {
  const controller = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.warn({ signal }, 'stopping: the run is aborted');
      controller.abort(new Error(`received ${signal}`));
    });
  }
  // Made before any agent process exists; it lives in this process's memory only.
  const proxyKey = config.mode === 'proxy' ? newProxyKey() : undefined;
  return runTask({
    config,
    logger,
    ...apiClients(config, proxyKey),
    ...(proxyKey ? { proxyKey } : {}),
    signal: controller.signal,
    ...(agentUser ? { agentUser } : {}),
  });
}

async function main(): Promise<never> {
  const env = { ...process.env };
  let config: RunnerConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    const logger = createLogger({ level: 'info', taskId: env.TASK_ID, name: 'anton-runner' });
    const reason = (err as Error).message;
    const facts = {
      taskId: env.TASK_ID,
      turns: 0,
      reviewRounds: 0,
      usage: { coder: emptyUsage(), reviewer: emptyUsage() },
      costUsd: 0,
    };
    logger.error({ err }, 'invalid configuration');
    return finish(
      logger,
      terminationLogFile(terminationLogPath(env)),
      outcome('failed', facts, { reason, permanent: true }),
    );
  }
  const logger = createLogger({ level: config.logLevel, taskId: config.taskId, name: 'anton-runner' });
  // From here on nothing reads the environment; the agent's shell must not find it in ours.
  const scrubbed = scrubInitialEnvironment();
  const agentUser = agentUserFor(process.geteuid?.(), config.agent);
  logger.info(
    { mode: config.mode, model: config.coder.model, environ_scrubbed: scrubbed, agent_uid: agentUser?.uid },
    'runner starting',
  );
  // Orphans are reparented to PID 1, and node reaps only its own children: under no init they
  // stay zombies (dead, ignored by the sweep, but each holds a pid). The images run tini as PID 1.
  if (process.pid === 1) logger.warn('the runner is PID 1: orphaned processes are not reaped; run it under tini');
  const terminationLog = terminationLogFile(config.terminationLog);
  if (!agentUser) {
    if (!config.agent.unsafeSharedUid) {
      const reason = SHARED_UID_REFUSAL;
      logger.error(reason);
      const facts = {
        taskId: config.taskId,
        turns: 0,
        reviewRounds: 0,
        usage: { coder: emptyUsage(), reviewer: emptyUsage() },
        costUsd: 0,
      };
      return finish(logger, terminationLog, outcome('failed', facts, { reason, permanent: true }));
    }
    logger.warn(SHARED_UID_WARNING);
  }
  return finish(logger, terminationLog, await run(config, logger, agentUser));
}

await main();
