import { timingSafeEqual } from 'node:crypto';
import { BRANCH_PATTERN, PROXY_KEY_PATTERN } from './protocol.ts';

export interface Claim {
  /** The only branch pushes may update, and pull requests may come from. */
  branch: string;
}

/**
 * The one runner this proxy serves: the first claim wins and every later one is refused, so an
 * agent that finds the proxy (/proc/net/tcp) can neither claim it nor use it without the key.
 */
export class RunClaim {
  #key: Buffer | undefined;
  #claim: Claim | undefined;

  get current(): Claim | undefined {
    return this.#claim;
  }

  /** Why the claim is refused, or undefined once it is taken. */
  take(key: string | undefined, body: unknown): string | undefined {
    if (this.#key) return 'the proxy is already claimed by its runner';
    if (!key || !PROXY_KEY_PATTERN.test(key)) return 'a claim carries a 32-byte base64url key';
    const branch = (body as { branch?: unknown } | null)?.branch;
    if (typeof branch !== 'string' || !BRANCH_PATTERN.test(branch)) return 'a claim names a fix/<id> branch';
    this.#key = Buffer.from(key);
    this.#claim = { branch };
    return undefined;
  }

  /** Whether a request carries the key (constant time). */
  holds(key: string | string[] | undefined): boolean {
    if (!this.#key || typeof key !== 'string') return false;
    const given = Buffer.from(key);
    return given.length === this.#key.length && timingSafeEqual(given, this.#key);
  }
}
