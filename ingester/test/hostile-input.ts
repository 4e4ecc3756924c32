import { createHmac } from 'node:crypto';
import { AgentTask } from '@anton/contracts';
import { waitFor } from '@anton/testing';
import fc from 'fast-check';
import { expect } from 'vitest';
import { fixture } from './fixture.ts';
import {
  expectNothingPublishedSince,
  type Harness,
  type Route,
  SECRETS,
  signedHeaders,
  startHarness,
} from './harness.ts';

/**
 * fast-check generators of what a hostile or broken sender may POST: the real sample payloads
 * mutated (fields deleted, types swapped, huge and exotic strings, prototype keys, nesting), random
 * bytes, every kind of credential (genuine or not) and content type. Each request says whether its
 * credentials are genuine, so a test can check that nothing else is ever accepted.
 */

export const ROUTES = ['jira', 'datadog', 'sonar'] as const satisfies readonly Route[];

/** The fuzzed app's body limit: small enough that the fuzzer's huge strings cross it now and then. */
export const FUZZ_MAX_BODY_BYTES = 256 * 1024;

/** The harness the fuzzers send to, with the body limit they expect (FUZZ_MAX_BODY_BYTES). */
export function startFuzzHarness(): Promise<Harness> {
  return startHarness({ config: { maxBodyBytes: FUZZ_MAX_BODY_BYTES } });
}

const SAMPLES: Record<Route, Buffer[]> = {
  jira: ['jira-issue_created-1.json', 'jira-issue_updated-1.json', 'jira-comment_created-1.json'].map(fixture),
  datadog: ['datadog-default-rendered-1.json', 'datadog-triggered-2.json'].map(fixture),
  sonar: ['sonar-qualitygate-ERROR-1.json', 'sonar-qualitygate-OK-1.json', 'sonar-task-FAILED-1.json'].map(fixture),
};

const SECRET_BY_ROUTE: Record<Route, string> = {
  jira: SECRETS.jira,
  datadog: SECRETS.datadog,
  sonar: SECRETS.sonarcloud,
};
const SIGNATURE_HEADER: Partial<Record<Route, { name: string; prefix: string }>> = {
  jira: { name: 'x-hub-signature', prefix: 'sha256=' },
  sonar: { name: 'x-sonar-webhook-hmac-sha256', prefix: '' },
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
];
const EXOTIC_TEXT = [
  '\u202Eevil\u202C', // right-to-left override
  'a\u200Bb\u200Dc\uFEFF', // zero-width characters
  '💥👩‍👩‍👧‍👦🏳️‍🌈',
  'nul\u0000byte',
  '\uD800', // a lone surrogate
  `{{ 7*7 }}{% raw %}\${process.env}`,
  "'; DROP TABLE tasks; --",
  '\r\nX-Injected: 1',
];

interface Mutation {
  kind: 'delete' | 'swap' | 'huge' | 'exotic' | 'prototype-key' | 'nest';
  at: number;
  value: Json;
  text: string;
  key: string;
  size: number;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'swap', 'huge', 'exotic', 'prototype-key', 'nest'),
  at: fc.nat(),
  value: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  text: fc.oneof(fc.constantFrom(...EXOTIC_TEXT), fc.string({ unit: 'binary', maxLength: 64 })),
  key: fc.constantFrom(...PROTOTYPE_KEYS),
  size: fc.integer({ min: 1_000, max: 300_000 }),
});

type Slot = { parent: Json[] | { [key: string]: Json }; key: string | number };

function slots(node: Json, into: Slot[] = []): Slot[] {
  if (node === null || typeof node !== 'object') return into;
  for (const key of Object.keys(node)) {
    const parent = node as Record<string, Json>;
    into.push({ parent, key: Array.isArray(node) ? Number(key) : key });
    slots(parent[key] as Json, into);
  }
  return into;
}

function setOwn(parent: Slot['parent'], key: string | number, value: Json): void {
  // defineProperty, not assignment: `o.__proto__ = v` would change the prototype instead of adding a key.
  Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
}

function nested(depth: number, leaf: Json): Json {
  let node = leaf;
  for (let i = 0; i < depth; i++) node = i % 2 ? [node] : { n: node };
  return node;
}

function mutate(root: Json, m: Mutation): Json {
  const all = slots(root);
  const slot = all[m.at % Math.max(all.length, 1)];
  if (!slot) return root;
  const { parent, key } = slot;
  const current = (parent as Record<string, Json>)[key];
  switch (m.kind) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      break;
    case 'swap':
      setOwn(parent, key, typeof m.value === typeof current ? String(m.value) : m.value);
      break;
    case 'huge':
      setOwn(parent, key, m.text.repeat(Math.ceil(m.size / Math.max(m.text.length, 1))).slice(0, m.size) || 'x');
      break;
    case 'exotic':
      setOwn(parent, key, typeof current === 'string' ? `${current}${m.text}` : m.text);
      break;
    case 'prototype-key': {
      const target = current !== null && typeof current === 'object' && !Array.isArray(current) ? current : root;
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) setOwn(target, m.key, m.value);
      break;
    }
    case 'nest':
      setOwn(parent, key, nested(1 + (m.size % 90), current ?? null));
      break;
  }
  return root;
}

/** Bodies for a route: mostly mutated samples, some plain garbage, some broken bytes. */
export function bodyFor(route: Route): fc.Arbitrary<{ bytes: Buffer; form: boolean }> {
  const samples = SAMPLES[route];
  const sample = fc.integer({ min: 0, max: samples.length - 1 }).map((i) => samples[i] as Buffer);
  const json = (bytes: Buffer | string) => ({ bytes: Buffer.from(bytes), form: false });
  const mutated = fc
    .tuple(sample, fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([bytes, mutations]) => mutations.reduce(mutate, JSON.parse(bytes.toString('utf8')) as Json));
  const arbitraries = [
    { weight: 8, arbitrary: mutated.map((value) => json(JSON.stringify(value))) },
    { weight: 1, arbitrary: sample.map((bytes) => json(bytes)) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 4 }).map(json) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes) => json(Buffer.from(bytes))) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 256 }).map(json) },
    {
      weight: 1,
      arbitrary: fc.tuple(sample, fc.nat()).map(([bytes, at]) => json(bytes.subarray(0, at % bytes.length))),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(sample, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([bytes, at, byte]) => {
        const flipped = Buffer.from(bytes);
        flipped[at % flipped.length] = byte;
        return json(flipped);
      }),
    },
  ];
  if (route === 'datadog') {
    const form = mutated.map((value) => {
      const fields = new URLSearchParams();
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const [key, field] of Object.entries(value)) {
          fields.append(key, typeof field === 'string' ? field : JSON.stringify(field));
        }
      }
      return { bytes: Buffer.from(fields.toString()), form: true };
    });
    arbitraries.push({ weight: 3, arbitrary: form });
  }
  return fc.oneof(...arbitraries);
}

/** What kind of Content-Type a request claims: JSON, a form, or anything else. */
export type ClaimedType = 'json' | 'form' | 'other';

const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON; charset=UTF-8',
  'application/json; charset=iso-8859-1',
  'application/json;charset=utf-16le',
];
const FORM_TYPES = ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8'];
const OTHER_TYPES = [
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  'application/json, text/plain',
  '',
  undefined,
];

const claim = (claimed: ClaimedType) => (type: string | undefined) =>
  [type, claimed] as [string | undefined, ClaimedType];
const contentType: fc.Arbitrary<[string | undefined, ClaimedType]> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...JSON_TYPES).map(claim('json')) },
  { weight: 2, arbitrary: fc.constantFrom(...FORM_TYPES).map(claim('form')) },
  { weight: 2, arbitrary: fc.constantFrom(...OTHER_TYPES).map(claim('other')) },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: 'grapheme-ascii', maxLength: 40 })
      .map((value) => claim('other')(value.replace(/[\r\n]/g, ''))),
  },
);

export type CredentialKind =
  | 'signed'
  | 'uppercase-hex'
  | 'shared-secret'
  | 'basic'
  | 'none'
  | 'wrong-secret'
  | 'other-source-secret'
  | 'signed-other-bytes'
  | 'truncated-signature'
  | 'wrong-prefix'
  | 'garbage'
  | 'duplicated';

const GENUINE: CredentialKind[] = ['signed', 'uppercase-hex', 'shared-secret', 'basic'];
const FORGED: CredentialKind[] = [
  'none',
  'wrong-secret',
  'other-source-secret',
  'signed-other-bytes',
  'truncated-signature',
  'wrong-prefix',
  'garbage',
  'duplicated',
];

export interface HostileRequest {
  route: Route;
  body: Buffer;
  claimed: ClaimedType;
  credential: CredentialKind;
  /** True when the credentials prove the sender holds this route's secret. */
  genuine: boolean;
  headers: Record<string, string | string[]>;
}

const hmac = (body: Buffer | string, secret: string) => createHmac('sha256', secret).update(body).digest('hex');

function credentialHeaders(
  route: Route,
  body: Buffer,
  kind: CredentialKind,
  garbage: string,
): { headers: Record<string, string | string[]>; genuine: boolean } {
  const secret = SECRET_BY_ROUTE[route];
  const signature = SIGNATURE_HEADER[route];
  const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`dd:${password}`).toString('base64')}` });
  const signedWith = (hex: string, prefix = signature?.prefix ?? ''): Record<string, string> =>
    signature ? { [signature.name]: `${prefix}${hex}` } : { 'x-webhook-secret': hex };
  const { 'content-type': _, ...signed } = signedHeaders(route, body);
  switch (kind) {
    case 'signed':
      return { headers: signed, genuine: true };
    case 'uppercase-hex':
      return { headers: signedWith(hmac(body, secret).toUpperCase()), genuine: signature !== undefined };
    case 'shared-secret':
      return { headers: { 'x-webhook-secret': secret }, genuine: route === 'datadog' };
    case 'basic':
      return { headers: basic(secret), genuine: route === 'datadog' };
    case 'none':
      return { headers: {}, genuine: false };
    case 'wrong-secret':
      return { headers: { ...signedWith(hmac(body, `${secret}x`)), ...basic(`${secret}x`) }, genuine: false };
    case 'other-source-secret': {
      const other = route === 'jira' ? SECRETS.sonarcloud : SECRETS.jira;
      return { headers: { ...signedWith(hmac(body, other)), 'x-webhook-secret': other }, genuine: false };
    }
    case 'signed-other-bytes':
      return { headers: signedWith(hmac(Buffer.concat([body, Buffer.from(' ')]), secret)), genuine: false };
    case 'truncated-signature':
      return { headers: signedWith(hmac(body, secret).slice(0, 63)), genuine: false };
    case 'wrong-prefix':
      return { headers: signedWith(hmac(body, secret), 'sha1='), genuine: false };
    case 'garbage':
      return {
        headers: { ...signedWith(garbage), 'x-webhook-secret': garbage, authorization: garbage },
        genuine: false,
      };
    case 'duplicated': {
      // A repeated credential header is ambiguous; the ingester must treat it as absent.
      const [name, value] = Object.entries(signed)[0] ?? ['x-webhook-secret', secret];
      return { headers: { [name]: [value, value] }, genuine: false };
    }
  }
}

/** One request to `route`: body, claimed content type, credentials and a few stray headers. */
export function hostileRequest(route: Route): fc.Arbitrary<HostileRequest> {
  return fc
    .record({
      body: bodyFor(route),
      contentType,
      credential: fc.oneof(fc.constantFrom(...GENUINE), fc.constantFrom(...FORGED)),
      garbage: fc.string({ unit: 'grapheme-ascii', maxLength: 80 }).map((s) => s.replace(/[\r\n]/g, '')),
      delivery: fc.option(fc.uuid(), { freq: 4 }),
    })
    .map(({ body, contentType: [type, claimed], credential, garbage, delivery }) => {
      const { headers, genuine } = credentialHeaders(route, body.bytes, credential, garbage);
      const formType = body.form && claimed === 'json' ? 'application/x-www-form-urlencoded' : type;
      const claimedType = body.form && claimed === 'json' ? 'form' : claimed;
      return withSummary({
        route,
        body: body.bytes,
        claimed: claimedType,
        credential,
        genuine,
        headers: {
          ...headers,
          ...(formType === undefined ? {} : { 'content-type': formType }),
          ...(delivery ? { 'x-atlassian-webhook-identifier': delivery } : {}),
        },
      });
    });
}

/** fast-check prints a counterexample with this: the route, credentials and a glimpse of the body. */
function withSummary(request: HostileRequest): HostileRequest {
  const { body, ...rest } = request;
  const glimpse = body.toString('utf8', 0, Math.min(body.length, 160));
  return Object.defineProperty(request, fc.toStringMethod, {
    value: () => `${JSON.stringify(rest)} body(${body.length} bytes): ${JSON.stringify(glimpse)}`,
  });
}

/** Whether a route takes bodies of that claimed type at all. */
export function accepts(route: Route, claimed: ClaimedType): boolean {
  return claimed === 'json' || (claimed === 'form' && route === 'datadog');
}

// The broker is up throughout, so 503 (the error handler's answer to a bug) is not allowed either.
const ANSWERS = [200, 202, 400, 401, 413, 415];

/** What the ingester must have answered to a request, whatever the fuzzer made of it. */
export function expectAnswerFits(request: HostileRequest, status: number, body: string, maxBodyBytes: number): void {
  const what = `${request.route} ${request.credential} ${JSON.stringify(request.headers['content-type'])} ${body.slice(0, 300)}`;
  expect(ANSWERS, what).toContain(status);
  if (!request.genuine) expect(status, what).toBeGreaterThanOrEqual(400);
  if (!accepts(request.route, request.claimed)) return;
  if (request.body.length > maxBodyBytes) expect(status, what).toBe(413);
  else if (request.genuine) expect([200, 202, 400], what).toContain(status);
  else expect(status, what).toBe(401);
}

/** The raw payload the ingester must have put in the task it published for this request. */
export function expectedRawPayload(request: HostileRequest): unknown {
  const text = request.body.toString('utf8');
  return request.claimed === 'form' ? Object.fromEntries(new URLSearchParams(text)) : JSON.parse(text);
}

/**
 * Every webhook answered 202 (by task id) was published exactly once, holding the body received,
 * and nothing else was: not before (the set of ids matches) and not after (a sentinel comes next).
 */
export async function expectPublishedExactly(harness: Harness, accepted: Map<string, HostileRequest>): Promise<void> {
  await waitFor(() => harness.capture.messages.length >= accepted.size, { what: 'the accepted tasks' });
  const mark = harness.capture.messages.length;
  const ids = harness.capture.messages.map((message) => message.properties.messageId as string);
  expect(new Set(ids).size).toBe(ids.length);
  expect(new Set(ids)).toEqual(new Set(accepted.keys()));
  for (const message of harness.capture.messages) {
    const task = AgentTask.parse(JSON.parse(message.content.toString('utf8')));
    const request = accepted.get(task.task_id);
    expect(request?.genuine).toBe(true);
    if (request) expect(task.raw_payload).toEqual(expectedRawPayload(request));
  }
  await expectNothingPublishedSince(harness, mark);
}
