import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import { BudgetMeter } from './budget-meter.ts';
import type { ProxyConfig } from './config.ts';
import { ForwardRefused, forward } from './forward.ts';
import { peerUid } from './peer-uid.ts';
import { CLAIM_PATH, PROXY_KEY_HEADER } from './protocol.ts';
import { decideRoute } from './routes.ts';
import { RunClaim } from './run-claim.ts';

const MAX_CLAIM_BYTES = 4096;

async function readSmallJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    if (text.length > MAX_CLAIM_BYTES) return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function answer(
  res: ServerResponse,
  status: number,
  error: string,
  message: string,
  extra: Record<string, unknown> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error, message, ...extra });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * The credential proxy: the only process of a runner Job that holds the keys. It answers on
 * loopback and serves one runner: the first to claim it (protocol.ts); a request without that
 * runner's key gets 403, whoever sends it. It forwards what the route allowlist permits with the
 * real credential and refuses the rest with 403. It keeps the task's budget (budget-meter.ts): once
 * spent, model calls get 402. Log lines carry method, route, path and status: never a header or a body.
 */
export function createProxyServer(
  config: ProxyConfig,
  logger: Logger,
  claimUids: readonly number[] = [...new Set([0, process.getuid?.() ?? 0])],
): Server {
  const claim = new RunClaim();
  const meter = new BudgetMeter(config.budget.usd, config.budget.prices);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const path = rawUrl.split('?')[0];
    if (method === 'GET' && path === '/healthz') return answer(res, 200, 'ok', 'credential proxy ready');
    const key = req.headers[PROXY_KEY_HEADER];
    if (method === 'POST' && path === CLAIM_PATH) {
      // Only root (the runner) or this proxy's own user may claim: on a machine running several
      // local runners, another runner's agent (a uid of its own) could otherwise race to claim first.
      const uid = await peerUid(req.socket);
      const refused =
        uid === undefined || !claimUids.includes(uid)
          ? `a claim comes from the runner (uid ${claimUids.join(' or ')}), not uid ${uid ?? 'unknown'}`
          : claim.take(typeof key === 'string' ? key : undefined, await readSmallJson(req));
      if (refused) {
        logger.warn({ method, path, reason: refused }, 'claim refused');
        return answer(res, 409, 'conflict', `anton credential proxy: ${refused}`);
      }
      logger.info({ branch: claim.current?.branch, budget_usd: meter.budgetUsd }, 'claimed by its runner');
      // The runner learns the task's budget here: the one the proxy enforces.
      return answer(res, 200, 'ok', 'claimed', { budget_usd: meter.budgetUsd });
    }
    const current = claim.current;
    if (!current || !claim.holds(key)) {
      logger.warn({ method, path, reason: 'no run key' }, 'request refused');
      req.resume();
      return answer(
        res,
        403,
        'forbidden',
        `anton credential proxy: ${method} ${path} is not allowed: the request does not carry the key of the proxy's runner`,
      );
    }
    const started = Date.now();
    const decision = decideRoute(method, rawUrl, config, current);
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
    if ((route === 'anthropic' || route === 'openai') && meter.exhausted) {
      logger.warn({ method, route, path, spent_usd: meter.spentUsd, budget_usd: meter.budgetUsd }, 'budget spent');
      req.resume();
      const refusal = meter.refusal(route);
      res.writeHead(refusal.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(refusal.body),
      });
      return res.end(refusal.body);
    }
    try {
      const status = await forward(req, res, decision.allowed, current, meter);
      const spent = route === 'anthropic' || route === 'openai' ? { spent_usd: meter.spentUsd } : {};
      logger.info({ method, route, path, status, ms: Date.now() - started, ...spent }, 'forwarded');
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
