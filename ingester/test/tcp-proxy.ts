import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the shared broker that a test can take down, bring back and stall, so
 * outages are simulated without touching the broker other tests use.
 */
export interface TcpProxy {
  port: number;
  /** Refuses new connections and cuts the open ones, like a broker that went away. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /** Holds back what the broker sends (its confirms included) until `resume()`. */
  stall(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let stalled = false;
  let server: Server | undefined;

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const next = createServer((client) => {
        const upstream = connect(target);
        const pair = { client, upstream };
        pairs.add(pair);
        client.pipe(upstream);
        if (!stalled) upstream.pipe(client);
        const end = () => {
          pairs.delete(pair);
          client.destroy();
          upstream.destroy();
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      });
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        server = next;
        const address = next.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });

  const stop = async () => {
    const current = server;
    server = undefined;
    for (const { client, upstream } of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  const port = await listen(0);
  return {
    port,
    down: stop,
    up: async () => {
      await listen(port);
    },
    stall: () => {
      stalled = true;
      for (const { client, upstream } of pairs) upstream.unpipe(client).pause();
    },
    resume: () => {
      stalled = false;
      for (const { client, upstream } of pairs) upstream.pipe(client);
    },
    close: stop,
  };
}
