import { describe, expect, it } from 'vitest';
import { configuredRepository, namedRepository } from './repository-url.ts';

const GITHUB = 'https://github.com';
const urlOf = (check: ReturnType<typeof namedRepository>) => (check.ok ? check.repository.url : check.problem);

describe('configuredRepository', () => {
  it('takes an https URL on the git host, keeping its spelling', () => {
    expect(configuredRepository('https://github.com/acme/orders.git', GITHUB)).toEqual({
      ok: true,
      repository: {
        url: 'https://github.com/acme/orders.git',
        owner: 'acme',
        repo: 'orders',
        key: 'github.com/acme/orders',
      },
    });
    expect(urlOf(configuredRepository('http://127.0.0.1:8080/acme/x', 'http://127.0.0.1:8080'))).toBe(
      'http://127.0.0.1:8080/acme/x',
    );
  });

  it('refuses ssh, other hosts, other schemes, credentials and paths that are not owner/repo', () => {
    for (const url of [
      'git@github.com:acme/orders.git',
      'ssh://git@github.com/acme/orders.git',
      'https://github.com.evil.example/acme/orders',
      'https://github.com:8443/acme/orders',
      'http://github.com/acme/orders',
      'file:///srv/git/x.git',
      'https://token@github.com/acme/x',
      'https://github.com/acme',
      'https://github.com/acme/x/y',
      'https://github.com/acme/..',
      '--upload-pack=evil',
    ]) {
      expect(configuredRepository(url, GITHUB).ok, url).toBe(false);
    }
  });
});

describe('namedRepository', () => {
  it('reads any spelling of a repository on the git host as its https URL there', () => {
    expect(urlOf(namedRepository('git@github.com:acme/orders.git', GITHUB))).toBe('https://github.com/acme/orders.git');
    expect(urlOf(namedRepository('ssh://git@github.com/acme/orders.git', GITHUB))).toBe(
      'https://github.com/acme/orders.git',
    );
    expect(urlOf(namedRepository('github.com/acme/orders', GITHUB))).toBe('https://github.com/acme/orders');
    expect(urlOf(namedRepository('http://github.com/acme/orders', GITHUB))).toBe('https://github.com/acme/orders');
    expect(urlOf(namedRepository('https://x:ghp_1@GitHub.com/acme/orders/', GITHUB))).toBe(
      'https://github.com/acme/orders',
    );
  });

  it('names nothing on another host or port, or in another form', () => {
    for (const value of [
      'http://evil.example/x/y.git',
      'https://github.com.evil.example/acme/x',
      'https://evil.example/github.com/acme/x',
      'ssh://git@github.com:2222/acme/x.git',
      'git@evil.example:acme/x.git',
      'file:///etc/passwd',
      'git://github.com/acme/x.git',
      'https://github.com/acme/x?y=1',
      '--upload-pack=touch /tmp/pwned',
      'https://github.com/acme',
    ]) {
      expect(namedRepository(value, GITHUB).ok, value).toBe(false);
    }
  });
});
