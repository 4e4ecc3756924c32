import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The original's shared-secret header: Datadog's, and JIRA's or Sonar's only where SHARED_SECRET_ROUTES says. */
export const SHARED_SECRET_HEADER = 'x-webhook-secret';

const SHA256_HEX = /^[0-9a-f]{64}$/i;

export function hmacSha256Hex(body: Buffer, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * True when `signatureHex` is the HMAC-SHA256 of the exact received bytes. The hex is decoded (any
 * case) and the bytes compared in constant time, so neither case nor timing tells anything.
 */
export function verifyHmacSha256(body: Buffer, secret: string, signatureHex: string | undefined): boolean {
  if (signatureHex === undefined || !SHA256_HEX.test(signatureHex)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(signatureHex, 'hex'));
}

/** Constant-time equality of a presented secret, whatever its length (both sides are hashed first). */
export function secretMatches(presented: string | undefined, secret: string): boolean {
  if (presented === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(secret));
}

/** The password of an `Authorization: Basic` header, or undefined when there is none. */
export function basicAuthPassword(authorization: string | undefined): string | undefined {
  const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/** One header value; a repeated header is treated as absent rather than guessed at. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

export function sharedSecretMatches(headers: IncomingHttpHeaders, secret: string): boolean {
  return secretMatches(headerValue(headers, SHARED_SECRET_HEADER), secret);
}
