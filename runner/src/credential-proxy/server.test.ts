import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import Anthropic from '@anthropic-ai/sdk';
import { runGit } from '@anton/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.ts';
import { HARNESS_GITHUB_TOKEN, type RunnerHarness, startRunnerHarness } from '../testing/runner-harness.ts';
import { git } from '../testing/temp-dir.ts';
import { gitAccessFor } from '../workspace/git-access.ts';
import { gitEnvironment } from '../workspace/run-git.ts';
import { Workspace } from '../workspace/workspace.ts';
import { loadProxyConfig } from './config.ts';
import { CLAIM_PATH, PROXY_KEY_HEADER } from './protocol.ts';
import { createProxyServer } from './server.ts';

const execFileAsync = promisify(execFile);
const KEY = 'runKey0123456789abcdefghijklmnopqrstuvwxyzA';
const withKey = { [PROXY_KEY_HEADER]: KEY };
const claimWith = (url: string, key: string, branch = 'fix/through-proxy') =>
  fetch(`${url}${CLAIM_PATH}`, {
    method: 'POST',
    headers: { [PROXY_KEY_HEADER]: key },
    body: JSON.stringify({ branch }),
  });

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

  // The agent found the proxy (/proc/net/tcp) but has no key: before and after the runner's claim.
  let claimed = false;
  it.each([
    ['POST', '/anthropic/v1/messages'],
    ['POST', '/openai/v1/chat/completions'],
    ['GET', '/github/repos/acme/sample-shop/pulls'],
    ['POST', '/github/repos/acme/sample-shop/pulls'],
    ['GET', '/git/127.0.0.1/acme/sample-shop.git/info/refs?service=git-receive-pack'],
    ['POST', '/git/127.0.0.1/acme/sample-shop.git/git-receive-pack'],
  ])('answers 403 to %s %s without the run key, claimed or not', async (method, path) => {
    if (!claimed) {
      // Nothing is served before the runner's claim, the key it will claim with included.
      expect((await fetch(`${proxyUrl}${path}`, { method, headers: withKey })).status).toBe(403);
      expect((await claimWith(proxyUrl, KEY)).status).toBe(200);
      claimed = true;
    }
    for (const headers of [{}, { [PROXY_KEY_HEADER]: 'x'.repeat(43) }, { [PROXY_KEY_HEADER]: `${KEY}x` }]) {
      const res = await fetch(`${proxyUrl}${path}`, { method, headers });
      expect(res.status).toBe(403);
      expect(await res.text()).toMatch(/key of the proxy's runner/);
    }
  });

  it('refuses a claim from another uid (another runner’s agent on the same machine)', async () => {
    const fresh = createProxyServer(loadProxyConfig(h.proxyEnv()), createLogger({ level: 'silent', name: 'x' }));
    await new Promise<void>((resolve) => fresh.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(fresh.address() as AddressInfo).port}`;
      const script = `fetch(${JSON.stringify(`${url}${CLAIM_PATH}`)}, { method: 'POST', headers: { '${PROXY_KEY_HEADER}': '${'z'.repeat(43)}' }, body: JSON.stringify({ branch: 'fix/main' }) }).then(async (r) => console.log(r.status, await r.text()))`;
      const { stdout } = await execFileAsync(process.execPath, ['-e', script], { uid: 54321, gid: 54321 });
      expect(stdout).toMatch(/^409 .*not uid 54321/);
      expect((await claimWith(url, KEY)).status).toBe(200);
    } finally {
      fresh.closeAllConnections();
      fresh.close();
    }
  });

  it('takes the first claim only: a second, with any key, is refused', async () => {
    await claimWith(proxyUrl, KEY);
    const again = await claimWith(proxyUrl, 'y'.repeat(43), 'fix/OTHER-1');
    expect(again.status).toBe(409);
    expect(await again.text()).toMatch(/already claimed/);
    const same = await claimWith(proxyUrl, KEY, 'fix/OTHER-1');
    expect(same.status).toBe(409);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await h.close();
  });

  it("forwards Anthropic messages with the real key instead of the caller's", async () => {
    h.anthropic.enqueue({ content: [{ type: 'text', text: 'hello' }] });
    const client = new Anthropic({
      baseURL: `${proxyUrl}/anthropic`,
      apiKey: 'placeholder',
      maxRetries: 0,
      defaultHeaders: withKey,
    });
    const message = await client.messages.create({
      model: 'claude-sonnet-5-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'hello' });
    const seen = h.anthropic.requests.at(-1);
    expect(seen?.headers['x-api-key']).toBe(h.anthropic.apiKey);
    expect(JSON.stringify(seen?.headers)).not.toContain('placeholder');
    expect(JSON.stringify(seen?.headers)).not.toContain(KEY);
  });

  it('forwards OpenAI chat completions with the real bearer token', async () => {
    h.openai.enqueue({ content: 'ok' });
    const client = new OpenAI({
      baseURL: `${proxyUrl}/openai/v1`,
      apiKey: 'placeholder',
      maxRetries: 0,
      defaultHeaders: withKey,
    });
    const completion = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toBe('ok');
    expect(h.openai.requests.at(-1)?.headers.authorization).toBe(`Bearer ${h.openai.apiKey}`);
  });

  it("forwards GitHub calls on the allowed repository with the token, dropping the caller's", async () => {
    const res = await fetch(`${proxyUrl}/github/repos/acme/sample-shop/pulls?state=open`, {
      headers: { ...withKey, authorization: 'token ghp_attacker', accept: 'application/vnd.github+json' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
    expect(h.github.requests.at(-1)?.headers.authorization).toBe(`token ${HARNESS_GITHUB_TOKEN}`);
  });

  it('clones and pushes the run’s branch through the git route, and nothing else; touches only its own pull request', async () => {
    const access = gitAccessFor(h.gitServer.repoUrl(h.sample.name), { kind: 'proxy', proxyUrl, proxyKey: KEY });
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

    // Even with the key: no other branch (main, another task's fix/), no forced update it did not declare.
    const pushWith = (env: Record<string, string>, ...args: string[]) =>
      runGit(['push', access.transportUrl, ...args], { cwd: ws.dir, env }).then(
        () => 'pushed',
        (err: Error) => err.message,
      );
    await git(h.sample.bareDir, 'branch', 'fix/OTHER-1', h.sample.mainSha);
    for (const target of ['HEAD:refs/heads/main', '+HEAD:refs/heads/fix/OTHER-1', 'HEAD:refs/tags/v9']) {
      expect(await pushWith(access.pushEnv(''), target)).toMatch(/403|only update|fix\/through-proxy/);
    }
    expect(await git(h.sample.bareDir, 'rev-parse', 'refs/heads/main')).toBe(h.sample.mainSha);
    expect(await git(h.sample.bareDir, 'rev-parse', 'refs/heads/fix/OTHER-1')).toBe(h.sample.mainSha);
    await git(ws.dir, 'commit', '--amend', '-m', 'rewritten');
    const pushed = await git(h.sample.bareDir, 'rev-parse', 'refs/heads/fix/through-proxy');
    expect(await pushWith(access.remoteEnv, '+HEAD:refs/heads/fix/through-proxy')).not.toBe('pushed');
    expect(await git(h.sample.bareDir, 'rev-parse', 'refs/heads/fix/through-proxy')).toBe(pushed);
    expect(await pushWith(access.pushEnv(pushed), '+HEAD:refs/heads/fix/through-proxy')).toBe('pushed');

    // Pull requests: the run's own may be opened and retitled; another task's may not be touched.
    await git(ws.dir, 'push', h.sample.bareDir, 'HEAD:refs/heads/fix/OTHER-3');
    const direct = await fetch(`${h.github.url}/repos/acme/sample-shop/pulls`, {
      method: 'POST',
      headers: { authorization: `token ${HARNESS_GITHUB_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'other task', head: 'fix/OTHER-3', base: 'main' }),
    });
    const theirs = ((await direct.json()) as { number: number }).number;
    const api = (path: string, method: string, body: unknown) =>
      fetch(`${proxyUrl}/github/repos/acme/sample-shop${path}`, {
        method,
        headers: { ...withKey, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await api(`/pulls/${theirs}`, 'PATCH', { title: 'pwned' })).status).toBe(403);
    expect((await api('/pulls', 'POST', { title: 'x', head: 'fix/OTHER-3', base: 'main' })).status).toBe(403);
    const created = await api('/pulls', 'POST', { title: 'ours', head: 'fix/through-proxy', base: 'main' });
    expect(created.status).toBe(201);
    const ours = ((await created.json()) as { number: number }).number;
    expect((await api(`/pulls/${ours}`, 'PATCH', { title: 'ours, v2', body: 'b' })).status).toBe(200);
    expect((await api(`/pulls/${ours}`, 'PATCH', { base: 'other' })).status).toBe(403);
    expect(h.github.pulls('acme', 'sample-shop').map((p) => p.title)).toEqual(['other task', 'ours, v2']);
  });

  it.each([
    ['GET', '/anthropic/v1/models'],
    ['POST', '/openai/v1/embeddings'],
    ['GET', '/github/user'],
    ['GET', '/github/repos/acme/other/pulls'],
    ['GET', '/git/127.0.0.1/acme/other.git/info/refs?service=git-upload-pack'],
    ['GET', '/anything'],
  ])('answers 403 to %s %s, with a message', async (method, path) => {
    const res = await fetch(`${proxyUrl}${path}`, { method, headers: withKey });
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
      const downUrl = `http://127.0.0.1:${(down.address() as AddressInfo).port}`;
      await claimWith(downUrl, KEY);
      const res = await fetch(`${downUrl}/anthropic/v1/messages`, {
        method: 'POST',
        headers: withKey,
        body: JSON.stringify({ model: 'm', max_tokens: 1, messages: [] }),
      });
      expect(res.status).toBe(502);
    } finally {
      down.close();
    }
  });

  it('never puts a key in a response or a log line', async () => {
    const res = await fetch(`${proxyUrl}/github/repos/acme/sample-shop/pulls`);
    const text = await res.text();
    expect(text).not.toContain(KEY);
    const logs = logLines.join('');
    expect(logs).toContain('"route":"git"');
    expect(logs).toContain('request refused');
    for (const secret of [...h.secrets, KEY]) {
      expect(text).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });
});
