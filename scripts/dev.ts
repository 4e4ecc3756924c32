/**
 * `pnpm dev`: the pipeline on this machine. Starts the ingester (PORT, default 8000) and the
 * orchestrator (DISPATCHER=local: each runner and its credential proxy are child processes; health
 * and metrics on METRICS_PORT, default 9090) from their sources, against the RabbitMQ at
 * RABBITMQ_URL, with the sample routing config deploy/dev/routing.yaml (ROUTING_CONFIG overrides).
 * Logs are pretty on a terminal and JSON lines otherwise. SIGINT/SIGTERM are passed on; when one
 * service dies the other is stopped too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { styleText } from 'node:util';
import { prettyFactory } from 'pino-pretty';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The ingester's well-known secret with ANTON_DEV=1 and no WEBHOOK_SECRET (DEV_WEBHOOK_SECRET in ingester/src/config.ts). */
const DEV_WEBHOOK_SECRET = 'anton-dev-secret';
const RUNNER_KEYS = ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GITHUB_TOKEN'] as const;

type Color = Parameters<typeof styleText>[0];
interface Service {
  name: string;
  color: Color;
  child: ChildProcess;
}

const pretty = process.stdout.isTTY === true;
// One line per entry (errors keep their stack below it); the prefix already names the service.
const prettify = prettyFactory({
  colorize: pretty,
  singleLine: true,
  translateTime: 'SYS:HH:MM:ss.l',
  ignore: 'pid,hostname,service,name,process,stream,reqId',
});
const LABEL_WIDTH = 'credential-proxy'.length;

/** One line of a service's output, pretty with the service's prefix on a terminal, else as it came. */
function emit(name: string, color: Color, line: string): void {
  const log = parseObject(line);
  if (!pretty) {
    process.stdout.write(log ? `${line}\n` : `${JSON.stringify({ service: name, line })}\n`);
    return;
  }
  // The local dispatcher relays its children's lines inside its own: show them as theirs.
  if (log && typeof log.process === 'string' && typeof log.line === 'string') {
    emit(log.process, log.process === 'runner' ? 'magenta' : 'blue', log.line);
    return;
  }
  const text = log ? prettify(log).trimEnd() : line;
  const prefix = styleText(color, `${name.padEnd(LABEL_WIDTH)} │ `);
  process.stdout.write(
    `${text
      .split('\n')
      .map((part) => prefix + part)
      .join('\n')}\n`,
  );
}

function say(msg: string, fields: Record<string, unknown> = {}, level: 'info' | 'warn' = 'info'): void {
  emit('dev', 'gray', JSON.stringify({ level, time: new Date().toISOString(), name: 'dev', ...fields, msg }));
}

function parseObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function start(name: string, color: Color, entry: string, env: NodeJS.ProcessEnv): Service {
  // Its own process group, so a terminal's Ctrl-C reaches only this script, which passes it on once.
  const child = spawn(process.execPath, ['--conditions=source', join(ROOT, entry)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => emit(name, color, line));
  }
  return { name, color, child };
}

const env = process.env;
const port = env.PORT ?? '8000';
const metricsPort = env.METRICS_PORT ?? '9090';
const rabbitmqUrl = env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const routingConfig = env.ROUTING_CONFIG ?? join(ROOT, 'deploy', 'dev', 'routing.yaml');

say('starting the ingester and the orchestrator (DISPATCHER=local)', {
  rabbitmq: rabbitmqUrl.replace(/\/\/[^@/]*@/, '//'),
  routing_config: routingConfig,
});
say(
  env.WEBHOOK_SECRET
    ? 'webhooks are checked against WEBHOOK_SECRET from your environment'
    : `webhooks are checked against the dev secret "${DEV_WEBHOOK_SECRET}" (ANTON_DEV=1); the send CLI uses it by default`,
  {
    ingester: `http://localhost:${port}`,
    try: `pnpm --filter @anton/ingester send jira ingester/test/fixtures/jira-issue_created-1.json --url http://localhost:${port}`,
  },
);
if (!env.ANTHROPIC_API_KEY) say('ANTHROPIC_API_KEY is not set: tasks are routed by rules, not by Claude', {}, 'warn');
const missing = RUNNER_KEYS.filter((name) => !env[name]);
if (missing.length > 0) {
  say(
    `runners cannot start without ${RUNNER_KEYS.join(', ')}: their credential proxy refuses to start, so each task is retried, then dead-lettered`,
    { missing },
    'warn',
  );
}

if (process.geteuid?.() !== 0) {
  say(
    env.LOCAL_RUNNER_UNSAFE_SHARED_UID === 'true'
      ? 'UNSAFE: not root and LOCAL_RUNNER_UNSAFE_SHARED_UID=true: the agent runs as your user and can read every key of your processes'
      : 'not root: runners are refused (the agent would run as your user and could read your keys); run as root, or set LOCAL_RUNNER_UNSAFE_SHARED_UID=true to accept that',
    {},
    'warn',
  );
}

const services = [
  start('ingester', 'green', 'ingester/src/main.ts', { ...env, ANTON_DEV: '1', PORT: port, RABBITMQ_URL: rabbitmqUrl }),
  start('orchestrator', 'cyan', 'orchestrator/src/main.ts', {
    ...env,
    DISPATCHER: 'local',
    ROUTING_CONFIG: routingConfig,
    METRICS_PORT: metricsPort,
    RABBITMQ_URL: rabbitmqUrl,
  }),
];

let stopping = false;
let exitCode = 0;
const running = () =>
  services.filter((service) => service.child.exitCode === null && service.child.signalCode === null);

function stopAll(signal: NodeJS.Signals): void {
  for (const service of running()) service.child.kill(signal);
}

for (const service of services) {
  service.child.on('exit', (code, signal) => {
    const clean = code === 0 || (stopping && signal !== null && signal !== 'SIGKILL');
    if (!clean) exitCode = 1;
    if (!stopping) {
      stopping = true;
      say(`${service.name} exited (${code ?? signal}); stopping the others`, {}, 'warn');
      stopAll('SIGTERM');
    }
    if (running().length === 0) process.exit(exitCode);
  });
}

// SIGHUP too (a closed terminal): the services, in process groups of their own, would outlive it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) {
      say('stopping at once');
      stopAll('SIGKILL');
      return;
    }
    stopping = true;
    say(`${signal}: stopping (again to stop at once)`);
    stopAll(signal === 'SIGHUP' ? 'SIGTERM' : signal);
  });
}
// Whatever ends this script, no service outlives it.
process.on('exit', () => stopAll('SIGKILL'));
