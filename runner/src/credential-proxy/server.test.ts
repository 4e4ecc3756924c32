import { writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.ts';
import { HARNESS_GITHUB_TOKEN, type RunnerHarness, startRunnerHarness } from '../testing/runner-harness.ts';
import { git } from '../testing/temp-dir.ts';
import { gitAccessFor } from '../workspace/git-access.ts';
import { gitEnvironment } from '../workspace/run-git.ts';
import { Workspace } from '../workspace/workspace.ts';
import { loadProxyConfig } from './config.ts';
import { createProxyServer } from './server.ts';

describe('credential proxy', () => {
  let h: RunnerHarness;
  let server: Server;
  let proxyUrl: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    h = await startRunnerHarness();
    const config = loadProxyConfig(h.proxyEnv());
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    server = createProxyServer(config, createLogger({ level: 'debug', name: 'proxy-test' }, sink));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await h.close();
  });

  it("forwards Anthropic messages with the real key instead of the caller's", async () => {
    h.anthropic.enqueue({ content: [{ type: 'text', text: 'hello' }] });
    const client = new Anthropic({ baseURL: `${proxyUrl}/anthropic`, apiKey: 'placeholder', maxRetries: 0 });
    const message = await client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'hello' });
    const seen = h.anthropic.requests.at(-1);
    expect(seen?.headers['x-api-key']).toBe(h.anthropic.apiKey);
    expect(JSON.stringify(seen?.headers)).not.toContain('placeholder');
  });

  it('forwards OpenAI chat completions with the real bearer token', async () => {
    h.openai.enqueue({ content: 'ok' });
    const client = new OpenAI({ baseURL: `${proxyUrl}/openai/v1`, apiKey: 'placeholder', maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toBe('ok');
    expect(h.openai.requests.at(-1)?.headers.authorization).toBe(`Bearer ${h.openai.apiKey}`);
  });

  it("forwards GitHub calls on the allowed repository with the token, dropping the caller's", async () => {
    const res = await fetch(`${proxyUrl}/github/repos/acme/sample-shop/pulls?state=open`, {
      headers: { authorization: 'token ghp_attacker', accept: 'application/vnd.github+json' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
    expect(h.github.requests.at(-1)?.headers.authorization).toBe(`token ${HARNESS_GITHUB_TOKEN}`);
  });

  it('clones and pushes a fix/ branch through the git route, and refuses a push to main', async () => {
    const access = gitAccessFor(h.gitServer.repoUrl(h.sample.name), { kind: 'proxy', proxyUrl });
    const ws = await Workspace.clone({
      dir: join(h.tmp.path, 'through-proxy'),
      privateDir: h.tmp.path,
      access,
      baseBranch: 'main',
      branch: 'fix/through-proxy',
      env: gitEnvironment(process.env),
    });
    expect(ws.baseSha).toBe(h.sample.mainSha);
    await writeFile(join(ws.dir, 'CHANGELOG.md'), 'through the proxy\n');
    const sha = await ws.commit('fix(P): through the proxy');
    await ws.push();
    expect(await git(h.sample.bareDir, 'rev-parse', 'refs/heads/fix/through-proxy')).toBe(sha);

    // The runner's commit lives in its private repository; the agent's clone commits on its own.
    await git(ws.dir, 'add', '-A');
    await git(ws.dir, 'commit', '-q', '-m', 'to main');

    const refused = await git(ws.dir, 'push', access.transportUrl, 'HEAD:refs/heads/main').then(
      () => 'pushed',
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/403|not allowed|fix\//);
    expect(await git(h.sample.bareDir, 'rev-parse', 'refs/heads/main')).toBe(h.sample.mainSha);
  });

  it.each([
    ['GET', '/anthropic/v1/models'],
    ['POST', '/openai/v1/embeddings'],
    ['GET', '/github/user'],
    ['GET', '/github/repos/acme/other/pulls'],
    ['GET', '/git/127.0.0.1/acme/other.git/info/refs?service=git-upload-pack'],
    ['GET', '/anything'],
  ])('answers 403 to %s %s, with a message', async (method, path) => {
    const res = await fetch(`${proxyUrl}${path}`, { method });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'forbidden', message: expect.stringContaining('not allowed') });
  });

  it('answers 502 when an upstream is down, without details', async () => {
    const down = createProxyServer(
      loadProxyConfig({
        ANTHROPIC_API_KEY: 'k',
        OPENAI_API_KEY: 'k',
        GITHUB_TOKEN: 'k',
        ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
        ALLOWED_REPOSITORY: 'https://github.com/a/b.git',
      }),
      createLogger({ level: 'silent', name: 'x' }),
    );
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(down.address() as AddressInfo).port}/anthropic/v1/messages`, {
        method: 'POST',
        body: '{}',
      });
      expect(res.status).toBe(502);
    } finally {
      down.close();
    }
  });

  it('never puts a key in a response or a log line', async () => {
    const res = await fetch(`${proxyUrl}/github/repos/acme/sample-shop/pulls`);
    const text = await res.text();
    const logs = logLines.join('');
    expect(logs).toContain('"route":"git"');
    expect(logs).toContain('request refused');
    for (const secret of h.secrets) {
      expect(text).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });
});
