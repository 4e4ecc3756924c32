import { Agent, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeHttpServer, sendJson } from './fake-http-server.ts';

describe('FakeHttpServer routing', () => {
  let server: FakeHttpServer;
  afterEach(() => server.close());

  it('binds named params and a trailing wildcard that spans segments', async () => {
    server = await new FakeHttpServer()
      .route('GET', '/repos/:owner/:repo', (req, res) => sendJson(res, 200, req.params))
      .route('GET', '/git/:rest*', (req, res) => sendJson(res, 200, req.params))
      .listen();
    expect(await (await fetch(`${server.url}/repos/acme/shop`)).json()).toEqual({ owner: 'acme', repo: 'shop' });
    expect(await (await fetch(`${server.url}/git/a/b/c.git`)).json()).toEqual({ rest: 'a/b/c.git' });
    expect((await fetch(`${server.url}/repos/acme`)).status).toBe(404);
  });

  it('records requests and serves an armed fault once', async () => {
    server = await new FakeHttpServer().route('GET', '/x', (_req, res) => sendJson(res, 200, { ok: true })).listen();
    server.inject({ kind: 'status', status: 503, body: { down: true } }, { path: '/x' });
    expect((await fetch(`${server.url}/x`)).status).toBe(503);
    expect((await fetch(`${server.url}/x`)).status).toBe(200);
    expect(server.received('/x', 'GET')).toHaveLength(2);
  });

  it('counts the connections clients open, so a test can tell reuse from one connection per request', async () => {
    server = await new FakeHttpServer().route('GET', '/x', (_req, res) => sendJson(res, 200, { ok: true })).listen();
    const get = (agent: Agent | false) =>
      new Promise<void>((resolve, reject) => {
        request(`${server.url}/x`, { agent }, (res) => res.resume().on('end', resolve))
          .on('error', reject)
          .end();
      });
    await get(false);
    await get(false);
    expect(server.connectionsAccepted).toBe(2);
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 3; i += 1) await get(keepAlive);
    keepAlive.destroy();
    expect(server.connectionsAccepted).toBe(3);
    expect(server.received('/x')).toHaveLength(5);
  });
});
