import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request as a fake received it, kept for assertions. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON when it is JSON, else undefined. */
  json: unknown;
  params: Record<string, string>;
}

/**
 * A fault to inject instead of (or before) the fake's normal answer.
 * - status: answer with this status, headers and body (e.g. 429 with retry-after, 529 overloaded)
 * - delay: wait, then answer normally (a slow server)
 * - drop: destroy the connection without answering (a dropped connection)
 */
export type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: unknown }
  | { kind: 'delay'; ms: number }
  | { kind: 'drop' };

export interface FaultOptions {
  /** How many matching requests get the fault (default 1). */
  times?: number;
  /** Which requests it applies to (default: all). */
  method?: string;
  path?: string | RegExp;
}

export type RouteHandler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: RouteHandler;
}

interface ArmedFault extends FaultOptions {
  fault: Fault;
  remaining: number;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Waits `ms`, or less when the client closes the connection first. */
function sleepUnlessClosed(req: IncomingMessage, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      req.socket.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    req.socket.on('close', done);
  });
}

function compile(path: string): { pattern: RegExp; keys: string[] } {
  const keys: string[] = [];
  const source = path.replace(/[.+*?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)(\\\*)?/g, (_m, key: string, rest) => {
    keys.push(key);
    return rest ? '(.+)' : '([^/]+)';
  });
  return { pattern: new RegExp(`^${source}$`), keys };
}

/**
 * The HTTP core every fake is built on: a real server on 127.0.0.1 and a random port, a small
 * router, a record of every request, and fault injection. Provider fakes add their routes and
 * their own error shapes; nothing here knows about any provider.
 */
export class FakeHttpServer {
  readonly requests: RecordedRequest[] = [];
  #routes: Route[] = [];
  #faults: ArmedFault[] = [];
  #sockets = new Set<Socket>();
  #connectionsAccepted = 0;
  #server = createServer((req, res) => void this.#handle(req, res));
  #url = '';

  /** Answers requests no route matches; providers override it with their 404 shape. */
  notFound: RouteHandler = (_req, res) => sendJson(res, 404, { error: 'not found' });

  get url(): string {
    return this.#url;
  }

  /** TCP connections opened to the fake so far: fewer than its requests when clients keep them alive. */
  get connectionsAccepted(): number {
    return this.#connectionsAccepted;
  }

  route(method: string, path: string, handler: RouteHandler): this {
    this.#routes.push({ method, ...compile(path), handler });
    return this;
  }

  /** Arms a fault for the next matching request(s). */
  inject(fault: Fault, options: FaultOptions = {}): this {
    this.#faults.push({ ...options, fault, remaining: options.times ?? 1 });
    return this;
  }

  clearFaults(): void {
    this.#faults = [];
  }

  /** Requests received, optionally only those to paths matching `path`. */
  received(path?: string | RegExp, method?: string): RecordedRequest[] {
    return this.requests.filter(
      (r) =>
        (method === undefined || r.method === method) &&
        (path === undefined || (typeof path === 'string' ? r.path === path : path.test(r.path))),
    );
  }

  async listen(port = 0): Promise<this> {
    this.#server.on('connection', (socket) => {
      this.#connectionsAccepted += 1;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.#server.listen(port, '127.0.0.1', resolve));
    const { port: bound } = this.#server.address() as AddressInfo;
    this.#url = `http://127.0.0.1:${bound}`;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://fake');
    let json: unknown;
    if (body.length > 0) {
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        json = undefined;
      }
    }
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      json,
      params: {},
    };
    this.requests.push(recorded);

    const armed = this.#faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.method === undefined || f.method === recorded.method) &&
        (f.path === undefined || (typeof f.path === 'string' ? f.path === recorded.path : f.path.test(recorded.path))),
    );
    if (armed) {
      armed.remaining -= 1;
      const { fault } = armed;
      if (fault.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault.kind === 'status') {
        sendJson(res, fault.status, fault.body, fault.headers);
        return;
      }
      await sleepUnlessClosed(req, fault.ms);
      // A client that gave up (its timeout fired) gets no answer, and its request consumes no script.
      if (req.socket.destroyed) return;
    }

    try {
      for (const route of this.#routes) {
        if (route.method !== recorded.method) continue;
        const match = route.pattern.exec(recorded.path);
        if (!match) continue;
        route.keys.forEach((key, i) => {
          recorded.params[key] = decodeURIComponent(match[i + 1] ?? '');
        });
        await route.handler(recorded, res);
        return;
      }
      await this.notFound(recorded, res);
    } catch (err) {
      // A bug in a fake must be loud in the test that hit it, not a hung request.
      if (!res.headersSent) sendJson(res, 500, { error: 'fake failed', message: String(err) });
      else res.destroy(err as Error);
    }
  }
}
