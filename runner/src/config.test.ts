import { ConfigError } from '@anton/contracts';
import { describe, expect, it } from 'vitest';
import { loadConfig, PROXY_PLACEHOLDER_KEY } from './config.ts';

describe('loadConfig', () => {
  it('proxy mode: every endpoint derives from the proxy and no key is needed', () => {
    const config = loadConfig({ CREDENTIAL_PROXY_URL: 'http://127.0.0.1:8181', PATH: '/bin', AWS_SECRET: 'x' });
    expect(config.mode).toBe('proxy');
    expect(config.anthropic).toEqual({ baseURL: 'http://127.0.0.1:8181/anthropic', apiKey: PROXY_PLACEHOLDER_KEY });
    expect(config.openai).toEqual({ baseURL: 'http://127.0.0.1:8181/openai/v1', apiKey: PROXY_PLACEHOLDER_KEY });
    expect(config.github).toEqual({ apiUrl: 'http://127.0.0.1:8181/github', token: undefined });
    expect(config.git).toEqual({ kind: 'proxy', proxyUrl: 'http://127.0.0.1:8181' });
    expect(config.shell.inherited.PATH).toBe('/bin');
    expect(config.shell.inherited).not.toHaveProperty('AWS_SECRET');
  });

  it("keeps the original's names and defaults; 100 turns a round, a $3 budget, draft pull requests", () => {
    const config = loadConfig({ CREDENTIAL_PROXY_URL: 'http://127.0.0.1:8181', LOG_LEVEL: 'INFO' });
    expect(config).toMatchObject({
      logLevel: 'info',
      contextPath: '/app/context/task.json',
      workDir: '/app/workspace',
      coder: { model: 'claude-sonnet-5-5', maxTurns: 100 },
      budget: { usd: 3, prices: { 'claude-sonnet-5-5': { input: 2, output: 10, cache_write: 2.5, cache_read: 0.2 } } },
      pullRequest: { draft: true },
      reviewer: { model: 'gpt-4o', maxRejections: 3 },
      shell: { timeoutMs: 120_000, maxTimeoutMs: 600_000 },
    });
  });

  it('direct mode needs the three secrets, and names each missing one', () => {
    expect(() => loadConfig({ ANTHROPIC_API_KEY: 'a' })).toThrow(ConfigError);
    expect(() => loadConfig({ ANTHROPIC_API_KEY: 'a' })).toThrow(/OPENAI_API_KEY: required.*GITHUB_TOKEN: required/);
    const config = loadConfig({ ANTHROPIC_API_KEY: 'a', OPENAI_API_KEY: 'o', GITHUB_TOKEN: 'g', MAX_CODER_TURNS: '3' });
    expect(config.mode).toBe('direct');
    expect(config.github).toEqual({ apiUrl: 'https://api.github.com', token: 'g' });
    expect(config.git).toEqual({ kind: 'direct', token: 'g', gitOrigin: 'https://github.com' });
    expect(config.coder.maxTurns).toBe(3);
  });

  it("reads the agent's uid and gid and the shared-uid opt-in", () => {
    const proxied = { CREDENTIAL_PROXY_URL: 'http://127.0.0.1:1' };
    expect(loadConfig(proxied).agent).toEqual({ uid: undefined, gid: undefined, unsafeSharedUid: false });
    expect(
      loadConfig({ ...proxied, AGENT_UID: '10001', AGENT_GID: '10001', LOCAL_RUNNER_UNSAFE_SHARED_UID: 'true' }).agent,
    ).toEqual({ uid: 10001, gid: 10001, unsafeSharedUid: true });
    expect(() => loadConfig({ ...proxied, AGENT_UID: '0' })).toThrow(/AGENT_UID/);
  });

  it('direct mode sends the token only to the GitHub of GITHUB_API_URL, over https', () => {
    const keys = { ANTHROPIC_API_KEY: 'a', OPENAI_API_KEY: 'o', GITHUB_TOKEN: 'g' };
    expect(loadConfig({ ...keys, GITHUB_API_URL: 'https://ghe.acme.example/api/v3' }).git).toMatchObject({
      gitOrigin: 'https://ghe.acme.example',
    });
    expect(loadConfig({ ...keys, GITHUB_GIT_URL: 'http://127.0.0.1:4010/' }).git).toMatchObject({
      gitOrigin: 'http://127.0.0.1:4010',
    });
    expect(() => loadConfig({ ...keys, GITHUB_API_URL: 'http://ghe.acme.example/api/v3' })).toThrow(
      /GITHUB_API_URL: must be https \(plain http only to a loopback address\)/,
    );
  });

  it('rejects nonsense numbers', () => {
    expect(() => loadConfig({ CREDENTIAL_PROXY_URL: 'http://127.0.0.1:1', SHELL_TIMEOUT: 'soon' })).toThrow(
      /SHELL_TIMEOUT/,
    );
  });

  it('refuses a default shell timeout above SHELL_TIMEOUT_MAX', () => {
    const proxy = { CREDENTIAL_PROXY_URL: 'http://127.0.0.1:1' };
    expect(loadConfig({ ...proxy, SHELL_TIMEOUT: '900', SHELL_TIMEOUT_MAX: '1800' }).shell.maxTimeoutMs).toBe(
      1_800_000,
    );
    expect(() => loadConfig({ ...proxy, SHELL_TIMEOUT: '900' })).toThrow(
      /SHELL_TIMEOUT.*must not exceed SHELL_TIMEOUT_MAX \(600\)/,
    );
  });
});
