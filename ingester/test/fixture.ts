import { readFileSync } from 'node:fs';

/** A fixture's exact bytes (see test/fixtures/SOURCES.md). */
export function fixture(name: string): Buffer {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
}

/** A fixture parsed, for tests that build variants of it. */
// biome-ignore lint/suspicious/noExplicitAny: tests reach into fixtures freely to build variants
export function fixtureJson(name: string): Record<string, any> {
  return JSON.parse(fixture(name).toString('utf8'));
}
