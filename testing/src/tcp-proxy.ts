import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy a test puts between a service and a shared server (the broker, an API fake) to
 * simulate network faults without touching the server other tests use.
 */
export interface TcpProxy {
  port: number;
  /** Connections open through the proxy now. */
  readonly connections: number;
  /** Refuses new connections (the port stops listening) and closes the open ones. */
  cut(): Promise<void>;
  /** Sends a TCP RST on every open connection (ECONNRESET on both sides); new ones still pass. */
  reset(): void;
  /**
   * Arms a one-shot reset: the first chunk a client sends that `match` accepts is dropped and every
   * open connection reset, so a fault lands at an exact point of a protocol exchange. `fired`
   * tells whether it has happened.
   */
  resetOn(match: (chunk: Buffer) => boolean): { readonly fired: boolean };
  /** Holds each chunk, in both directions, `ms` before passing it on (0: none). */
  delay(ms: number): void;
  /**
   * Holds traffic until `restore()`: by default what the target sends (a broker's confirms, say);
   * `to-target` holds what clients send (their acks), `both` everything.
   */
  stall(direction?: StallDirection): void;
  /** Undoes cut, delay, stall and an armed resetOn: listens again on the same port, releases what was held. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export type StallDirection = 'from-target' | 'to-target' | 'both';

/** One direction of a connection: passes chunks on in order, after the delay, unless stalled. */
class Flow {
  readonly #to: Socket;
  readonly #held: { chunk: Buffer; due: number }[] = [];
  #timer: NodeJS.Timeout | undefined;
  stalled = false;

  constructor(from: Socket, to: Socket, delayMs: () => number) {
    this.#to = to;
    from.on('data', (chunk: Buffer) => {
      this.#held.push({ chunk, due: Date.now() + delayMs() });
      this.pump();
    });
  }

  pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (!this.stalled && this.#held.length > 0 && !this.#to.destroyed) {
      const next = this.#held[0];
      if (!next) break;
      const wait = next.due - Date.now();
      if (wait > 0) {
        this.#timer = setTimeout(() => this.pump(), wait);
        return;
      }
      this.#held.shift();
      this.#to.write(next.chunk);
    }
  }

  /** Passes on at once what the delay still holds (the stall, if any, still applies). */
  release(): void {
    for (const held of this.#held) held.due = 0;
    this.pump();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#held.length = 0;
  }
}

interface Pair {
  client: Socket;
  upstream: Socket;
  toUpstream: Flow;
  toClient: Flow;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let delayMs = 0;
  let stalled: StallDirection | undefined;
  let armed: { match: (chunk: Buffer) => boolean; fired: boolean } | undefined;
  const holds = (flow: 'to-target' | 'from-target') => stalled === 'both' || stalled === flow;
  let server: Server | undefined;

  const accept = (client: Socket) => {
    // Listens before the flows do, so a matching chunk is never passed on.
    client.on('data', (chunk: Buffer) => {
      if (!armed?.match(chunk)) return;
      armed.fired = true;
      armed = undefined;
      closeAll('reset');
    });
    const upstream = connect(target);
    const pair: Pair = {
      client,
      upstream,
      toUpstream: new Flow(client, upstream, () => delayMs),
      toClient: new Flow(upstream, client, () => delayMs),
    };
    pair.toClient.stalled = holds('from-target');
    pair.toUpstream.stalled = holds('to-target');
    pairs.add(pair);
    const end = () => {
      if (!pairs.delete(pair)) return;
      pair.toUpstream.stop();
      pair.toClient.stop();
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  };

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const next = createServer(accept);
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        server = next;
        const address = next.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });

  const closeAll = (how: 'destroy' | 'reset') => {
    for (const pair of [...pairs]) {
      pairs.delete(pair);
      pair.toUpstream.stop();
      pair.toClient.stop();
      if (how === 'reset') {
        pair.client.resetAndDestroy();
        pair.upstream.resetAndDestroy();
      } else {
        pair.client.destroy();
        pair.upstream.destroy();
      }
    }
  };

  const cut = async () => {
    const current = server;
    server = undefined;
    closeAll('destroy');
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  const port = await listen(0);
  return {
    port,
    get connections() {
      return pairs.size;
    },
    cut,
    reset: () => closeAll('reset'),
    resetOn: (match) => {
      armed = { match, fired: false };
      return armed;
    },
    delay: (ms) => {
      delayMs = ms;
    },
    stall: (direction = 'from-target') => {
      stalled = direction;
      for (const pair of pairs) {
        pair.toClient.stalled = holds('from-target');
        pair.toUpstream.stalled = holds('to-target');
      }
    },
    restore: async () => {
      delayMs = 0;
      armed = undefined;
      stalled = undefined;
      for (const pair of pairs) {
        pair.toClient.stalled = false;
        pair.toUpstream.stalled = false;
        pair.toClient.release();
        pair.toUpstream.release();
      }
      if (!server) await listen(port);
    },
    close: cut,
  };
}
