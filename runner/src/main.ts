import { emptyUsage, encodeRunnerResult } from '@anton/contracts';
import { apiClients } from './clients.ts';
import { loadConfig, type RunnerConfig, terminationLogPath } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { outcome, type RunOutcome } from './run-outcome.ts';
import { runTask } from './run-task.ts';
import { scrubInitialEnvironment } from './scrub-environ.ts';
import { type AgentUser, agentUserFor } from './shell/agent-user.ts';
import { terminationLogFile, writeTerminationLog } from './termination-log.ts';

async function finish(logger: Logger, path: string | undefined, ended: RunOutcome): Promise<never> {
  logger.info({ result: ended.result, exit_code: ended.exitCode }, 'run finished');
  const failed = await writeTerminationLog(path, encodeRunnerResult(ended.result));
  if (failed) logger.warn({ err: failed, path }, 'cannot write the termination log');
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
  return runTask({
    config,
    logger,
    ...apiClients(config),
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
  const agentUser = agentUserFor(process.geteuid?.());
  logger.info(
    { mode: config.mode, model: config.coder.model, environ_scrubbed: scrubbed, agent_uid: agentUser?.uid },
    'runner starting',
  );
  return finish(logger, terminationLogFile(config.terminationLog), await run(config, logger, agentUser));
}

await main();
