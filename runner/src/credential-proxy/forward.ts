import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parsePushCommands, refusePush } from './git-push-refs.ts';
import type { AllowedRoute } from './routes.ts';

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
async function requestBody(req: IncomingMessage, route: AllowedRoute): Promise<Readable> {
  if (!route.receivePack) return req;
  if (req.headers['content-encoding'] && req.headers['content-encoding'] !== 'identity') {
    throw new ForwardRefused('a compressed push cannot be checked');
  }
  const iterator = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  for (;;) {
    const parsed = parsePushCommands(head);
    if (parsed.state === 'invalid') throw new ForwardRefused(parsed.reason);
    if (parsed.state === 'done') {
      const refused = refusePush(parsed.updates);
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

/** Streams the request to the upstream with the real credential, and the answer back. */
export async function forward(req: IncomingMessage, res: ServerResponse, route: AllowedRoute): Promise<number> {
  const body = await requestBody(req, route);
  const headers = filterHeaders(req.headers, DROPPED_REQUEST_HEADERS);
  const [name, value] = route.credential;
  headers[name] = value;
  const send = route.upstream.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const upstream = send(route.upstream, { method: req.method, headers }, (answer) => {
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
    pipeline(body, upstream).catch((err) => {
      upstream.destroy();
      reject(err);
    });
  });
}
