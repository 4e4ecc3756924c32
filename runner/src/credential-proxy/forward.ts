import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { BudgetMeter } from './budget-meter.ts';
import { parsePushCommands, refusePush } from './git-push-refs.ts';
import { PROXY_KEY_HEADER, PUSH_LEASE_HEADER } from './protocol.ts';
import type { AllowedRoute } from './routes.ts';
import type { Claim } from './run-claim.ts';

/** A model call with a long history is a few MB; anything far larger is not the runner's. */
export const MAX_JSON_BODY_BYTES = 32 * 1024 * 1024;

/** Never forwarded: hop-by-hop headers, and any credential the caller brought. */
const DROPPED_REQUEST_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'authorization',
  'x-api-key',
  'cookie',
  // The proxy's own: never sent on.
  PROXY_KEY_HEADER,
  PUSH_LEASE_HEADER,
  // Betas switch on what the runner never uses (MCP servers, files, code execution).
  'anthropic-beta',
]);

const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
]);

function filterHeaders(headers: IncomingHttpHeaders, dropped: Set<string>): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!dropped.has(name.toLowerCase()) && value !== undefined) out[name] = value;
  }
  return out;
}

export class ForwardRefused extends Error {
  override name = 'ForwardRefused';
}

/**
 * The request body as a stream. For a git push, the ref-update commands at its start are read and
 * checked first; the bytes read are then replayed ahead of the rest, so the body still streams.
 */
async function requestBody(req: IncomingMessage, route: AllowedRoute, claim: Claim): Promise<Readable | Buffer> {
  const compressed = req.headers['content-encoding'] && req.headers['content-encoding'] !== 'identity';
  if (route.body) {
    if (compressed) throw new ForwardRefused('a compressed body cannot be checked');
    return checkedJson(req, route.body);
  }
  if (!route.receivePack) return req;
  if (compressed) throw new ForwardRefused('a compressed push cannot be checked');
  const leaseHeader = req.headers[PUSH_LEASE_HEADER];
  const lease = typeof leaseHeader === 'string' ? leaseHeader.trim() : undefined;
  const iterator = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  for (;;) {
    const parsed = parsePushCommands(head);
    if (parsed.state === 'invalid') throw new ForwardRefused(parsed.reason);
    if (parsed.state === 'done') {
      const refused = refusePush(parsed.updates, { branch: claim.branch, lease });
      if (refused) throw new ForwardRefused(refused);
      break;
    }
    const next = await iterator.next();
    if (next.done) throw new ForwardRefused('push ended before its command list');
    head = Buffer.concat([head, next.value]);
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return Readable.from(replay());
}

/** Reads a JSON body whole (bounded) and checks it against the route's rule. */
async function checkedJson(req: IncomingMessage, rule: NonNullable<AllowedRoute['body']>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY_BYTES) throw new ForwardRefused(`a body over ${MAX_JSON_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ForwardRefused('the body is not JSON');
  }
  const refused = rule(json);
  if (refused) throw new ForwardRefused(refused);
  return bytes;
}

/** Refuses the update of a pull request that is not from the run's own branch of this repository. */
async function assertPullOwned(route: AllowedRoute, owner: string): Promise<void> {
  const [name, value] = route.credential;
  const answer = await fetch(route.upstream, {
    headers: { [name]: value, accept: 'application/vnd.github+json', 'user-agent': 'anton-credential-proxy' },
  });
  if (!answer.ok) throw new ForwardRefused(`cannot tell whose pull request this is (${answer.status})`);
  const pull = (await answer.json()) as { head?: { ref?: unknown; repo?: { full_name?: unknown } | null } };
  const head = `${String(pull.head?.repo?.full_name ?? '')}:${String(pull.head?.ref ?? '')}`;
  if (head.toLowerCase() !== owner.toLowerCase())
    throw new ForwardRefused(`only the pull request from ${owner} may be updated`);
}

/** The decoded bytes of an answer, to read its usage (the bytes sent on stay as they came). */
function decoded(bytes: Buffer, encoding: string | undefined): Buffer {
  if (!encoding || encoding === 'identity') return bytes;
  if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipSync(bytes);
  if (encoding === 'deflate') return inflateSync(bytes);
  if (encoding === 'br') return brotliDecompressSync(bytes);
  return bytes; // unreadable: the meter counts it as spending the rest
}

function requestModel(body: Buffer | Readable): string | undefined {
  if (!Buffer.isBuffer(body)) return undefined;
  try {
    const model = (JSON.parse(body.toString('utf8')) as { model?: unknown }).model;
    return typeof model === 'string' ? model : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a model call's answer whole, adds its cost to the meter, then sends it on. */
async function meteredAnswer(
  answer: IncomingMessage,
  res: ServerResponse,
  meter: BudgetMeter,
  kind: 'anthropic' | 'openai',
  model: string | undefined,
): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of answer as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY_BYTES) throw new Error(`an answer over ${MAX_JSON_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks);
  const status = answer.statusCode ?? 502;
  // Only a success is billed; an error answer (4xx, 5xx) costs nothing.
  if (status >= 200 && status < 300) {
    let text: Buffer;
    try {
      text = decoded(bytes, answer.headers['content-encoding']?.toLowerCase());
    } catch {
      text = Buffer.alloc(0);
    }
    meter.record(kind, model, text);
  }
  const headers = filterHeaders(answer.headers, DROPPED_RESPONSE_HEADERS);
  headers['content-length'] = String(bytes.length);
  res.writeHead(status, headers);
  res.end(bytes);
}

/**
 * Streams the request to the upstream with the real credential, and the answer back. A model call
 * (given the meter) has its answer read whole first, so its cost counts before the runner sees it.
 */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  route: AllowedRoute,
  claim: Claim,
  meter?: BudgetMeter,
): Promise<number> {
  const body = await requestBody(req, route, claim);
  if (route.pullOwnedBy) await assertPullOwned(route, route.pullOwnedBy);
  const headers = filterHeaders(req.headers, DROPPED_REQUEST_HEADERS);
  if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
  const [name, value] = route.credential;
  headers[name] = value;
  const metered = meter && (route.kind === 'anthropic' || route.kind === 'openai') ? route.kind : undefined;
  // Plain bytes, so the proxy can read the usage without guessing at an encoding.
  if (metered) headers['accept-encoding'] = 'identity';
  const model = metered ? requestModel(body) : undefined;
  const send = route.upstream.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const upstream = send(route.upstream, { method: req.method, headers }, (answer) => {
      if (metered && meter) {
        meteredAnswer(answer, res, meter, metered, model).then(
          () => resolve(answer.statusCode ?? 502),
          (err) => reject(err),
        );
        return;
      }
      res.writeHead(answer.statusCode ?? 502, filterHeaders(answer.headers, DROPPED_RESPONSE_HEADERS));
      pipeline(answer, res).then(
        () => resolve(answer.statusCode ?? 502),
        (err) => reject(err),
      );
    });
    // The caller hung up: stop the upstream call too.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, upstream).catch((err) => {
      upstream.destroy();
      reject(err);
    });
  });
}
