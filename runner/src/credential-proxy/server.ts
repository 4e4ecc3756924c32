import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import type { ProxyConfig } from './config.ts';
import { ForwardRefused, forward } from './forward.ts';
import { decideRoute } from './routes.ts';

function answer(res: ServerResponse, status: number, error: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error, message });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * The credential proxy: the only process of a runner Job that holds the keys. It answers on
 * loopback, forwards what the route allowlist permits with the real credential, and refuses the
 * rest with 403. Log lines carry method, route, path and status: never a header or a body.
 */
export function createProxyServer(config: ProxyConfig, logger: Logger): Server {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const path = rawUrl.split('?')[0];
    if (method === 'GET' && path === '/healthz') return answer(res, 200, 'ok', 'credential proxy ready');
    const started = Date.now();
    const decision = decideRoute(method, rawUrl, config);
    if ('denied' in decision) {
      logger.warn({ method, path, reason: decision.denied }, 'request refused');
      req.resume();
      return answer(
        res,
        403,
        'forbidden',
        `anton credential proxy: ${method} ${path} is not allowed: ${decision.denied}`,
      );
    }
    const route = decision.allowed.kind;
    try {
      const status = await forward(req, res, decision.allowed);
      logger.info({ method, route, path, status, ms: Date.now() - started }, 'forwarded');
    } catch (err) {
      if (err instanceof ForwardRefused) {
        logger.warn({ method, route, path, reason: err.message }, 'request refused');
        req.resume();
        return answer(res, 403, 'forbidden', `anton credential proxy: ${err.message}`);
      }
      logger.warn({ method, route, path, error: (err as Error).message }, 'upstream failed');
      answer(res, 502, 'bad_gateway', `anton credential proxy: the upstream of ${route} failed`);
    }
  };
  const server = createServer((req, res) => void handle(req, res));
  server.requestTimeout = 0; // model calls and clones can take minutes; the clients time out
  return server;
}
