import { describe, expect, it } from 'vitest';
import { httpsRepository } from './repository-url.ts';

describe('httpsRepository', () => {
  it('keeps https and http URLs, without credentials', () => {
    expect(httpsRepository('https://github.com/acme/orders.git')).toBe('https://github.com/acme/orders.git');
    expect(httpsRepository('http://127.0.0.1:8080/git/acme/x')).toBe('http://127.0.0.1:8080/git/acme/x');
    expect(httpsRepository('https://x-access-token:ghp_secret@github.com/acme/x.git')).toBe(
      'https://github.com/acme/x.git',
    );
  });

  it('turns ssh forms into https', () => {
    expect(httpsRepository('git@github.com:acme/orders.git')).toBe('https://github.com/acme/orders.git');
    expect(httpsRepository('ssh://git@github.example:2222/acme/orders.git')).toBe(
      'https://github.example/acme/orders.git',
    );
  });

  it('refuses what the credential proxy cannot reach, and what is not a URL', () => {
    expect(httpsRepository('file:///srv/git/x.git')).toBeUndefined();
    expect(httpsRepository('git://github.com/acme/x.git')).toBeUndefined();
    expect(httpsRepository('--upload-pack=evil')).toBeUndefined();
    expect(httpsRepository('https://github.com/')).toBeUndefined();
  });
});
