import { randomInt, randomUUID } from 'node:crypto';

/** The API server's timestamps: RFC 3339, UTC, whole seconds. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const newUid = (): string => randomUUID();

// k8s.io/apimachinery/pkg/util/rand: no vowels (no words), no confusable characters.
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
const RANDOM_LENGTH = 5;
const MAX_NAME_LENGTH = 63;

/** `generateName` + 5 random characters, the base cut so the result fits a 63-character label. */
export function generateName(base: string): string {
  const cut = base.slice(0, MAX_NAME_LENGTH - RANDOM_LENGTH);
  let suffix = '';
  for (let i = 0; i < RANDOM_LENGTH; i += 1) suffix += ALPHANUMS[randomInt(ALPHANUMS.length)];
  return cut + suffix;
}
