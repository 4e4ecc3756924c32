import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gitTestEnv } from './git-env.ts';

export type GitService = 'git-upload-pack' | 'git-receive-pack';

/** One request as the git server saw it. The credential itself is never kept. */
export interface GitHttpRequest {
  method: string;
  /** URL path, e.g. `/acme/sample-shop.git/info/refs`. */
  path: string;
  service: GitService | null;
  /** Which kind of Authorization header came with the request (`none` when absent). */
  auth: 'none' | 'basic' | 'bearer' | 'other';
  /** Whether that header carried the right token. */
  authorized: boolean;
  /** The `Git-Protocol` header (e.g. `version=2`), when sent. */
  gitProtocol: string | null;
  status: number;
}

export interface GitHttpServerOptions {
  /** Directory whose bare repositories are served (`<root>/<name>.git` at `/<name>.git`). */
  root: string;
  /** The token a client must present. */
  token: string;
  realm?: string;
}

export interface GitHttpServer {
  url: string;
  requests: GitHttpRequest[];
  /** Clone URL of `<root>/<name>.git`. */
  repoUrl(name: string): string;
  close(): Promise<void>;
}

const SERVICE_RE = /\/(git-upload-pack|git-receive-pack)$/;

function serviceOf(path: string, query: URLSearchParams): GitService | null {
  const named = query.get('service') ?? SERVICE_RE.exec(path)?.[1] ?? null;
  return named === 'git-upload-pack' || named === 'git-receive-pack' ? named : null;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks the Authorization header the way GitHub's git endpoint does for a token: HTTP Basic with
 * any user name and the token as password (`x-access-token:<token>`), or `Bearer <token>`.
 */
function checkAuth(header: string | undefined, token: string): Pick<GitHttpRequest, 'auth' | 'authorized'> {
  if (!header) return { auth: 'none', authorized: false };
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return { auth: 'basic', authorized: colon >= 0 && sameSecret(decoded.slice(colon + 1), token) };
  }
  if (/^bearer$/i.test(scheme)) return { auth: 'bearer', authorized: sameSecret(value, token) };
  return { auth: 'other', authorized: false };
}

/** Pipes the request into `git http-backend` (CGI) and its CGI answer back as HTTP. */
function runBackend(root: string, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const header = (name: string): string | undefined => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const cgi: Record<string, string> = {
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    CONTENT_TYPE: header('content-type') ?? '',
    // The token was checked above; http-backend only needs to know someone is logged in to allow a push.
    REMOTE_USER: 'anton-test',
    REMOTE_ADDR: '127.0.0.1',
    // Served repositories need no setup: push enabled, partial clone and lazy blob fetch allowed.
    GIT_CONFIG_COUNT: '3',
    GIT_CONFIG_KEY_0: 'http.receivepack',
    GIT_CONFIG_VALUE_0: 'true',
    GIT_CONFIG_KEY_1: 'uploadpack.allowFilter',
    GIT_CONFIG_VALUE_1: 'true',
    GIT_CONFIG_KEY_2: 'uploadpack.allowAnySHA1InWant',
    GIT_CONFIG_VALUE_2: 'true',
  };
  const length = header('content-length');
  if (length !== undefined) cgi.CONTENT_LENGTH = length;
  const encoding = header('content-encoding');
  if (encoding !== undefined) cgi.HTTP_CONTENT_ENCODING = encoding;
  const protocol = header('git-protocol');
  if (protocol !== undefined) {
    cgi.HTTP_GIT_PROTOCOL = protocol;
    cgi.GIT_PROTOCOL = protocol;
  }

  const child = spawn('git', ['http-backend'], { env: gitTestEnv(cgi), stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined); // the backend may answer (e.g. 404) before reading the body
  child.stderr.resume();

  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      if (!res.write(chunk)) {
        child.stdout.pause();
        res.once('drain', () => child.stdout.resume());
      }
      return;
    }
    head = Buffer.concat([head, chunk]);
    const text = head.toString('latin1');
    const match = /\r?\n\r?\n/.exec(text);
    if (!match) return;
    headersDone = true;
    let status = 200;
    for (const line of text.slice(0, match.index).split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
      else res.setHeader(name, value);
    }
    res.statusCode = status;
    res.write(head.subarray(match.index + match[0].length));
  });
  child.stdout.on('end', () => {
    if (!headersDone && !res.headersSent) res.statusCode = 502;
    res.end();
  });
  child.on('error', (err) => {
    if (!res.headersSent) res.statusCode = 502;
    res.end(String(err));
  });
}

/**
 * A smart-HTTP git server in front of the real `git http-backend`, serving every bare repository
 * under `root` for clone, fetch (protocol v2, partial clone) and push, and demanding the token.
 */
export async function startGitHttpServer({
  root,
  token,
  realm = 'anton-test',
}: GitHttpServerOptions): Promise<GitHttpServer> {
  const requests: GitHttpRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://git.local');
    const record: GitHttpRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      service: serviceOf(url.pathname, url.searchParams),
      ...checkAuth(req.headers.authorization, token),
      gitProtocol: (req.headers['git-protocol'] as string | undefined) ?? null,
      status: 0,
    };
    requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    if (!record.authorized) {
      // Drain the body so the client reads our answer instead of a reset connection.
      req.resume();
      res.writeHead(401, { 'www-authenticate': `Basic realm="${realm}"`, 'content-type': 'text/plain' });
      res.end('Authentication required\n');
      return;
    }
    runBackend(root, req, res, url);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    requests,
    repoUrl: (name) => `${url}/${name.replace(/\.git$/, '')}.git`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
