import { describe, expect, it } from 'vitest';
import { repositorySlug } from './repository-slug.ts';

describe('repositorySlug', () => {
  it.each([
    ['https://github.com/acme/shop.git', 'acme', 'shop'],
    ['https://github.com/acme/shop', 'acme', 'shop'],
    ['https://ghe.example.com:8443/team/api-server.git/', 'team', 'api-server'],
    ['git@github.com:acme/shop.git', 'acme', 'shop'],
    ['ssh://git@github.com/acme/shop.git', 'acme', 'shop'],
    ['http://127.0.0.1:4321/acme/sample-shop.git', 'acme', 'sample-shop'],
    ['file:///tmp/anton-git-x/acme/sample-shop.git', 'acme', 'sample-shop'],
  ])('%s → %s/%s', (url, owner, repo) => {
    expect(repositorySlug(url)).toEqual({ owner, repo });
  });

  it('refuses a URL without two path segments', () => {
    expect(() => repositorySlug('https://github.com/shop.git')).toThrow(/cannot tell owner/);
  });
});
