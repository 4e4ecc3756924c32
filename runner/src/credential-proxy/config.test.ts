import { describe, expect, it } from 'vitest';
import { gitHostOf, loadProxyConfig } from './config.ts';

const keys = { ANTHROPIC_API_KEY: 'a', OPENAI_API_KEY: 'o', GITHUB_TOKEN: 'g' };

describe('credential proxy configuration: the token goes only to the configured GitHub', () => {
  it('derives the git host from GITHUB_API_URL', () => {
    expect(gitHostOf('https://api.github.com')).toBe('github.com');
    expect(gitHostOf('https://ghe.acme.example/api/v3')).toBe('ghe.acme.example');
  });

  it.each([
    ['https://github.com/acme/shop.git', undefined],
    ['https://GitHub.com/acme/shop', undefined],
    ['https://ghe.acme.example/acme/shop.git', 'https://ghe.acme.example/api/v3'],
  ])('accepts %s', (repository, api) => {
    const config = loadProxyConfig({
      ...keys,
      ALLOWED_REPOSITORY: repository,
      ...(api ? { GITHUB_API_URL: api } : {}),
    });
    expect(config.repository.owner).toBe('acme');
  });

  it.each([
    ['a host a webhook named', { ALLOWED_REPOSITORY: 'https://attacker.example/acme/shop.git' }, /not the git host/],
    ['github.com over http', { ALLOWED_REPOSITORY: 'http://github.com/acme/shop.git' }, /must be https/],
    ['another port', { ALLOWED_REPOSITORY: 'https://github.com:8443/acme/shop.git' }, /not the git host/],
    [
      'github.com when GitHub Enterprise is configured',
      { ALLOWED_REPOSITORY: 'https://github.com/acme/shop.git', GITHUB_API_URL: 'https://ghe.acme.example/api/v3' },
      /not the git host/,
    ],
    [
      'a GitHub API over http',
      { ALLOWED_REPOSITORY: 'http://ghe.acme.example/acme/shop.git', GITHUB_API_URL: 'http://ghe.acme.example/api/v3' },
      /must be https/,
    ],
    [
      'the Anthropic key over http',
      { ALLOWED_REPOSITORY: 'https://github.com/a/b', ANTHROPIC_BASE_URL: 'http://anthropic.example' },
      /ANTHROPIC_BASE_URL.*must be https/,
    ],
  ])('refuses %s', (_what, vars, reason) => {
    expect(() => loadProxyConfig({ ...keys, ...vars })).toThrow(reason);
  });

  it('allows http to loopback only (the fakes of the tests)', () => {
    const config = loadProxyConfig({
      ...keys,
      GITHUB_API_URL: 'http://127.0.0.1:4000',
      ALLOWED_REPOSITORY: 'http://127.0.0.1:5000/acme/shop.git',
    });
    expect(config.repository.origin).toBe('http://127.0.0.1:5000');
  });
});
