import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, type TestBrokerNode, waitFor } from '@anton/testing';

const run = promisify(execFile);

/** A RabbitMQ node of the test's own: another node name, ports, data and log directories, config. */
export interface OwnBroker extends TestBrokerNode {
  node: string;
  port: number;
  /** `rabbitmqctl -n <this node> …`: never the machine's default node. */
  ctl(args: string[]): Promise<string>;
  /** Stops the node and removes its directory. */
  close(): Promise<void>;
}

/**
 * Starts a broker node next to the machine's shared one (`rabbitmq-server -detached`), so a test
 * may stop and start it (stop_app / start_app) without touching what other tests use. Everything
 * it keeps is in a temporary directory owned by the `rabbitmq` user (the Debian wrapper runs the
 * server as that user, with its Erlang cookie: the same the CLI uses, so `-n` reaches it).
 */
export async function startOwnBroker(label: string): Promise<OwnBroker> {
  const node = `anton-${label}-${randomBytes(3).toString('hex')}@localhost`;
  const [port, distPort] = [await freePort(), await freePort()];
  const dir = await mkdtemp(join(tmpdir(), 'anton-broker-'));
  await mkdir(join(dir, 'mnesia'));
  await mkdir(join(dir, 'log'));
  // Only AMQP on its own port: no management plugin, which would want the shared node's 15672.
  await writeFile(join(dir, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${port}\n`);
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  const { stdout } = await run('id', ['-u', 'rabbitmq']);
  const { stdout: gid } = await run('id', ['-g', 'rabbitmq']);
  for (const path of [
    dir,
    join(dir, 'mnesia'),
    join(dir, 'log'),
    join(dir, 'rabbitmq.conf'),
    join(dir, 'enabled_plugins'),
  ]) {
    await chown(path, Number(stdout.trim()), Number(gid.trim()));
  }
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
  };
  // The CLI must name the node: an inherited RABBITMQ_NODENAME would do it for every rabbitmqctl.
  const cliEnv = { ...process.env };
  delete cliEnv.RABBITMQ_NODENAME;
  const ctl = async (args: string[]) => (await run('rabbitmqctl', ['-n', node, '-q', ...args], { env: cliEnv })).stdout;
  await run('rabbitmq-server', ['-detached'], { env });
  const broker: OwnBroker = {
    node,
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    ctl,
    close: async () => {
      await ctl(['stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    // The node registers with epmd a moment after -detached returns; then it must finish booting.
    await waitFor(
      () =>
        ctl(['await_startup']).then(
          () => true,
          () => false,
        ),
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: `the broker node ${node} to start`,
      },
    );
  } catch (err) {
    await broker.close();
    throw err;
  }
  return broker;
}
