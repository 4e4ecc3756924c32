import { describe, expect, it } from 'vitest';
import { gitAccessFor, UnsupportedRepositoryUrl } from './git-access.ts';

describe('gitAccessFor', () => {
  it('direct mode: the token only as an origin-scoped extraHeader in the environment', () => {
    const access = gitAccessFor('https://github.com/acme/shop.git', { kind: 'direct', token: 'ghs_abc' });
    expect(access.transportUrl).toBe('https://github.com/acme/shop.git');
    expect(access.publicUrl).toBe('https://github.com/acme/shop.git');
    expect(access.remoteEnv).toEqual({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.https://github.com/.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from('x-access-token:ghs_abc').toString('base64')}`,
    });
  });

  it('proxy mode: the proxy URL to talk to, the plain URL to record, the run key (and lease) for the proxy only', () => {
    const key = 'k'.repeat(43);
    const access = gitAccessFor('https://github.com/acme/shop.git', {
      kind: 'proxy',
      proxyUrl: 'http://127.0.0.1:8181/',
      proxyKey: key,
    });
    expect(access.transportUrl).toBe('http://127.0.0.1:8181/git/github.com/acme/shop.git');
    expect(access.publicUrl).toBe('https://github.com/acme/shop.git');
    expect(access.remoteEnv).toEqual({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.http://127.0.0.1:8181/.extraHeader',
      GIT_CONFIG_VALUE_0: `x-anton-proxy-key: ${key}`,
    });
    expect(access.pushEnv('')).toMatchObject({
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_1: 'http.http://127.0.0.1:8181/.extraHeader',
      GIT_CONFIG_VALUE_1: `x-anton-push-lease: ${'0'.repeat(40)}`,
    });
    expect(access.pushEnv('a'.repeat(40)).GIT_CONFIG_VALUE_1).toBe(`x-anton-push-lease: ${'a'.repeat(40)}`);
  });

  it('never records credentials written into the URL', () => {
    const access = gitAccessFor('https://user:pw@git.example.com:8443/a/b.git', { kind: 'direct', token: undefined });
    expect(access.publicUrl).toBe('https://git.example.com:8443/a/b.git');
  });

  it('refuses a repository the proxy cannot carry', () => {
    expect(() =>
      gitAccessFor('git@github.com:acme/shop.git', { kind: 'proxy', proxyUrl: 'http://127.0.0.1:1', proxyKey: 'k' }),
    ).toThrow(UnsupportedRepositoryUrl);
  });
});
