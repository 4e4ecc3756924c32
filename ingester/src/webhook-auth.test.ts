import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { basicAuthPassword, secretMatches, verifyHmacSha256 } from './webhook-auth.ts';

const body = Buffer.from('{"a": "b & c/d"}');
const hex = createHmac('sha256', 'key').update(body).digest('hex');

describe('verifyHmacSha256', () => {
  it('accepts the HMAC of the exact bytes, in either hex case', () => {
    expect(verifyHmacSha256(body, 'key', hex)).toBe(true);
    expect(verifyHmacSha256(body, 'key', hex.toUpperCase())).toBe(true);
  });

  it('refuses another key, other bytes, a truncated or non-hex signature, or none', () => {
    expect(verifyHmacSha256(body, 'other', hex)).toBe(false);
    expect(verifyHmacSha256(Buffer.from('{"a":"b & c/d"}'), 'key', hex)).toBe(false);
    expect(verifyHmacSha256(body, 'key', hex.slice(0, 62))).toBe(false);
    expect(verifyHmacSha256(body, 'key', `${hex.slice(0, 63)}g`)).toBe(false);
    expect(verifyHmacSha256(body, 'key', undefined)).toBe(false);
  });
});

describe('secretMatches', () => {
  it('compares whole secrets of any length', () => {
    expect(secretMatches('s3cret', 's3cret')).toBe(true);
    expect(secretMatches('s3cre', 's3cret')).toBe(false);
    expect(secretMatches('s3cret-and-more', 's3cret')).toBe(false);
    expect(secretMatches(undefined, 's3cret')).toBe(false);
  });
});

describe('basicAuthPassword', () => {
  const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;

  it('reads the password, which may itself hold colons', () => {
    expect(basicAuthPassword(basic('datadog:pa:ss'))).toBe('pa:ss');
    expect(basicAuthPassword(basic(':pw'))).toBe('pw');
  });

  it('finds none in other schemes or malformed values', () => {
    expect(basicAuthPassword('Bearer abc')).toBeUndefined();
    expect(basicAuthPassword(basic('no-colon'))).toBeUndefined();
    expect(basicAuthPassword(undefined)).toBeUndefined();
  });
});
