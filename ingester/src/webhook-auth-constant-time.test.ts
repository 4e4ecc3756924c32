import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSourceRegistry } from './sources/registry.ts';

// Every comparison of a credential must go through crypto.timingSafeEqual over buffers of equal
// length, so how long a check takes says nothing about how many leading bytes were right. Timing
// itself is not measured here (that would be flaky); the spy proves the mechanism instead.
const compared = vi.hoisted(() => ({ calls: [] as { lengths: [number, number]; equal: boolean }[] }));
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>();
  return {
    ...crypto,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      const equal = crypto.timingSafeEqual(a, b);
      compared.calls.push({ lengths: [a.byteLength, b.byteLength], equal });
      return equal;
    },
  };
});
afterEach(() => {
  compared.calls.length = 0;
});

const SECRET = 'the-webhook-secret-0123456789';
const body = Buffer.from('{"webhookEvent":"jira:issue_created"}');
const hmac = createHmac('sha256', SECRET).update(body).digest('hex');
const basic = (password: string) => `Basic ${Buffer.from(`datadog:${password}`).toString('base64')}`;
// With the opt-in, so the shared-secret header's comparison on JIRA and Sonar is checked too.
const sources = createSourceRegistry({
  jira: { triggerLabel: undefined, triggerStatuses: [] },
  sharedSecretSources: ['jira', 'sonarcloud'],
});

/** A guess that gets the first `right` characters of `value` right and the rest wrong. */
function guess(value: string, right: number): string {
  const flip = (char: string) => (char === 'a' ? 'b' : 'a');
  return value.slice(0, right) + [...value.slice(right)].map(flip).join('');
}

const schemes: {
  name: string;
  source: keyof typeof sources;
  value: string;
  headers: (v: string) => IncomingHttpHeaders;
}[] = [
  { name: 'Jira X-Hub-Signature', source: 'jira', value: hmac, headers: (v) => ({ 'x-hub-signature': `sha256=${v}` }) },
  { name: 'Jira X-Webhook-Secret', source: 'jira', value: SECRET, headers: (v) => ({ 'x-webhook-secret': v }) },
  {
    name: 'Sonar X-Sonar-Webhook-HMAC-SHA256',
    source: 'sonarcloud',
    value: hmac,
    headers: (v) => ({ 'x-sonar-webhook-hmac-sha256': v }),
  },
  { name: 'Sonar X-Webhook-Secret', source: 'sonarcloud', value: SECRET, headers: (v) => ({ 'x-webhook-secret': v }) },
  { name: 'Datadog X-Webhook-Secret', source: 'datadog', value: SECRET, headers: (v) => ({ 'x-webhook-secret': v }) },
  { name: 'Datadog Basic auth', source: 'datadog', value: SECRET, headers: (v) => ({ authorization: basic(v) }) },
];

function check(source: keyof typeof sources, headers: IncomingHttpHeaders) {
  compared.calls.length = 0;
  const accepted = sources[source].authenticate(headers, body, SECRET);
  return { accepted, calls: [...compared.calls] };
}

describe.each(schemes)('$name', ({ source, value, headers }) => {
  it('compares in constant time, the same way however many leading characters are right', () => {
    const wrong = [0, 1, value.length / 2, value.length - 1].map((right) =>
      check(source, headers(guess(value, right))),
    );
    for (const { accepted, calls } of wrong) {
      expect(accepted).toBe(false);
      expect(calls.length).toBeGreaterThan(0);
      for (const call of calls) expect(call.lengths[0]).toBe(call.lengths[1]);
      // The same comparisons, of the same lengths, whether 0 or all but one character were right.
      expect(calls.map((call) => call.lengths)).toEqual(wrong[0]?.calls.map((call) => call.lengths));
    }
    const right = check(source, headers(value));
    expect(right.accepted).toBe(true);
    expect(right.calls.some((call) => call.equal)).toBe(true);
  });
});

// An HMAC's length is public (64 hex digits; a malformed one is refused unseen); a secret's is not.
describe.each(schemes.filter((scheme) => scheme.value === SECRET))('$name', ({ source, value, headers }) => {
  it('compares equal lengths even when the guess is shorter or longer than the secret', () => {
    for (const presented of [value.slice(0, 3), `${value}${value}`]) {
      const { accepted, calls } = check(source, headers(presented));
      expect(accepted).toBe(false);
      expect(calls.length).toBeGreaterThan(0);
      for (const call of calls) expect(call.lengths[0]).toBe(call.lengths[1]);
    }
  });
});

describe('the source of the credential checks', () => {
  it('compares no credential with ===, !==, equals() or compare(), only timingSafeEqual', async () => {
    const files = [
      'webhook-auth.ts',
      'sources/registry.ts',
      'sources/jira-webhook.ts',
      'sources/sonar-webhook.ts',
      'sources/datadog-webhook.ts',
    ];
    const credential = /\b(signature\w*|secret\w*|presented|password|hex|expected|digest|hmac\w*)\b/i;
    const offending: string[] = [];
    for (const file of files) {
      const text = await readFile(new URL(file, import.meta.url), 'utf8');
      for (const line of text.split('\n')) {
        const comparisons =
          line.match(/[\w.?[\]()'"]+\s*(?:===|!==|==|!=)\s*[\w.?[\]()'"]+|\.(?:equals|compare)\(/g) ?? [];
        for (const comparison of comparisons) {
          const againstNothing = /(?:===|!==|==|!=)\s*(?:undefined|null)\b/.test(comparison);
          if (credential.test(comparison) && !againstNothing) offending.push(`${file}: ${line.trim()}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });
});
