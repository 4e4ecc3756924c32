import { describe, expect, it } from 'vitest';
import { githubGitOrigin, isCredentialSafe, isLoopbackHost } from './github-host.ts';

describe('githubGitOrigin', () => {
  it('derives the git host from the API URL', () => {
    expect(githubGitOrigin('https://api.github.com')).toBe('https://github.com');
    expect(githubGitOrigin('https://API.github.com/')).toBe('https://github.com');
    expect(githubGitOrigin('https://api.acme.ghe.com')).toBe('https://acme.ghe.com');
    expect(githubGitOrigin('https://ghe.acme.example/api/v3')).toBe('https://ghe.acme.example');
    expect(githubGitOrigin('http://127.0.0.1:4010')).toBe('http://127.0.0.1:4010');
  });

  it('refuses an API URL a token must not travel to', () => {
    expect(() => githubGitOrigin('http://ghe.acme.example/api/v3')).toThrow(/must be https/);
    expect(() => githubGitOrigin('ftp://api.github.com')).toThrow(/must be https/);
  });
});

describe('isCredentialSafe', () => {
  it('allows https anywhere and http only to loopback', () => {
    expect(isCredentialSafe(new URL('https://github.com/acme/x'))).toBe(true);
    expect(isCredentialSafe(new URL('http://127.0.0.1:8080/x'))).toBe(true);
    expect(isCredentialSafe(new URL('http://[::1]:8080/x'))).toBe(true);
    expect(isCredentialSafe(new URL('http://localhost/x'))).toBe(true);
    expect(isCredentialSafe(new URL('http://github.com/acme/x'))).toBe(false);
    expect(isCredentialSafe(new URL('http://127.0.0.1.evil.example/x'))).toBe(false);
    expect(isCredentialSafe(new URL('ssh://github.com/acme/x'))).toBe(false);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
  });
});
