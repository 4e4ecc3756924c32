import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../test/fixture.ts';
import { expectNothingPublishedSince, type Harness, SECRETS, signedHeaders, startHarness } from '../../test/harness.ts';

const MAX_BODY_BYTES = 16 * 1024;
let harness: Harness;
let mark: number;
beforeAll(async () => {
  harness = await startHarness({ config: { maxBodyBytes: MAX_BODY_BYTES } });
});
afterAll(() => harness?.close());

const jira = fixture('jira-issue_created-1.json');
const sonar = fixture('sonar-qualitygate-ERROR-1.json');
const json = { 'content-type': 'application/json' };
const hmac = (body: Buffer | string, secret: string) => createHmac('sha256', secret).update(body).digest('hex');
const signed = (route: 'jira' | 'datadog' | 'sonar', body: string) =>
  harness.post(route, body, signedHeaders(route, Buffer.from(body)));
const UNAUTHORIZED = { statusCode: 401, error: 'Unauthorized', message: 'missing or invalid credentials' };

describe('authentication', () => {
  it.each([
    ['jira: its signature', 'jira', jira, signedHeaders('jira', jira), 202],
    [
      'jira: uppercase hex',
      'jira',
      jira,
      { ...json, 'x-hub-signature': `sha256=${hmac(jira, 'jira-secret').toUpperCase()}` },
      202,
    ],
    // Datadog's header secret sits in plain sight in Datadog's webhook settings: by default it opens
    // no other route, even where one WEBHOOK_SECRET serves every source.
    ['jira: the shared-secret header', 'jira', jira, { ...json, 'x-webhook-secret': 'jira-secret' }, 401],
    ['sonar: the shared-secret header', 'sonar', sonar, { ...json, 'x-webhook-secret': 'sonar-secret' }, 401],
    ['jira: a wrong secret', 'jira', jira, { ...json, 'x-hub-signature': `sha256=${hmac(jira, 'nope')}` }, 401],
    ['jira: another source’s secret', 'jira', jira, { ...json, 'x-webhook-secret': SECRETS.sonarcloud }, 401],
    ['jira: no credentials', 'jira', jira, json, 401],
    ['jira: another algorithm', 'jira', jira, { ...json, 'x-hub-signature': `sha1=${hmac(jira, 'jira-secret')}` }, 401],
    ['jira: the bare hex', 'jira', jira, { ...json, 'x-hub-signature': hmac(jira, 'jira-secret') }, 401],
    ['sonar: its signature', 'sonar', sonar, signedHeaders('sonar', sonar), 202],
    [
      'sonar: a prefixed signature',
      'sonar',
      sonar,
      { ...json, 'x-sonar-webhook-hmac-sha256': `sha256=${hmac(sonar, 'sonar-secret')}` },
      401,
    ],
    ['sonar: no credentials', 'sonar', sonar, json, 401],
    [
      'datadog: Basic auth',
      'datadog',
      fixture('datadog-triggered-2.json'),
      { ...json, authorization: `Basic ${Buffer.from('dd:datadog-secret').toString('base64')}` },
      202,
    ],
    [
      'datadog: a wrong header',
      'datadog',
      fixture('datadog-triggered-2.json'),
      { ...json, 'x-webhook-secret': 'jira-secret' },
      401,
    ],
  ] as const)('%s → %i', async (_, route, body, headers, status) => {
    const reply = await harness.post(route, body, headers);
    expect(reply.statusCode, reply.body).toBe(status);
    if (status === 401) expect(reply.json()).toEqual(UNAUTHORIZED);
  });

  it('accepts the shared-secret header on JIRA or Sonar only when SHARED_SECRET_ROUTES names it', async () => {
    const allowing = await startHarness({ config: { sharedSecretSources: ['jira'] } });
    try {
      expect((await allowing.post('jira', jira, { ...json, 'x-webhook-secret': 'jira-secret' })).statusCode).toBe(202);
      expect((await allowing.post('jira', jira, { ...json, 'x-webhook-secret': 'sonar-secret' })).statusCode).toBe(401);
      expect((await allowing.post('sonar', sonar, { ...json, 'x-webhook-secret': 'sonar-secret' })).statusCode).toBe(
        401,
      );
    } finally {
      await allowing.close();
    }
  });

  it.each([
    ['jira', 'x-hub-signature', 'sha256='],
    ['sonar', 'x-sonar-webhook-hmac-sha256', ''],
  ] as const)(
    '%s: refuses a signature over re-serialized JSON instead of the raw bytes',
    async (route, header, prefix) => {
      const raw = route === 'jira' ? jira : sonar;
      const reserialized = JSON.stringify(JSON.parse(raw.toString('utf8')));
      const secret = route === 'jira' ? SECRETS.jira : SECRETS.sonarcloud;
      const reply = await harness.post(route, raw, { ...json, [header]: `${prefix}${hmac(reserialized, secret)}` });
      expect(reply.statusCode).toBe(401);
    },
  );

  it('answers 401 before reading the body: garbage with a bad signature is not a 400, and is never logged', async () => {
    const marker = 'do-not-log-this-body';
    const reply = await harness.post('jira', `{not json ${marker}`, { ...json, 'x-hub-signature': 'sha256=00' });
    expect(reply.statusCode).toBe(401);
    expect(harness.rawLogs.join('')).not.toContain(marker);
  });
});

describe('bad input', () => {
  beforeAll(() => {
    mark = harness.capture.messages.length;
  });

  it.each([
    ['invalid JSON', 'jira', '{"webhookEvent": ', /^body is not valid JSON: /],
    ['an empty body', 'sonar', '', /^body is not valid JSON: /],
    ['a JSON array', 'jira', '[]', /^Invalid input: expected object, received array$/],
    ['a JSON string', 'datadog', '"hi"', /^Invalid input: expected object, received string$/],
    ['a wrong field type', 'jira', '{"webhookEvent": 42}', /^webhookEvent: Invalid input: expected string/],
    [
      'an issue event without an issue',
      'jira',
      '{"webhookEvent": "jira:issue_created"}',
      /^issue: required for jira:issue_created events$/,
    ],
    [
      'an issue without an id',
      'jira',
      '{"webhookEvent": "jira:issue_created", "issue": {"id": ""}}',
      /^issue\.id: Too small/,
    ],
    [
      'a gate without a project',
      'sonar',
      '{"status": "SUCCESS", "qualityGate": {"status": "ERROR"}}',
      /^project: Invalid input/,
    ],
    [
      'an alert without any id',
      'datadog',
      '{"title": "[Triggered] x"}',
      /^id: required: one of id, event_id or alert_id$/,
    ],
    ['a __proto__ key', 'datadog', '{"id": "1", "__proto__": {"admin": true}}', /__proto__/],
  ] as const)('answers 400 naming the problem for %s', async (_, route, body, message) => {
    const reply = await signed(route, body);
    expect(reply.statusCode, reply.body).toBe(400);
    expect(reply.json()).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.stringMatching(message),
    });
  });

  it('answers 400 for a body that is not UTF-8', async () => {
    const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const reply = await harness.post('sonar', body, signedHeaders('sonar', body));
    expect(reply.statusCode).toBe(400);
    expect(reply.json().message).toBe('body is not valid UTF-8');
  });

  it('answers 413 above the size limit, before authentication', async () => {
    const body = JSON.stringify({ webhookEvent: 'comment_created', pad: 'x'.repeat(MAX_BODY_BYTES) });
    expect((await signed('jira', body)).statusCode).toBe(413);
    const unsigned = await harness.post('jira', body, json);
    expect(unsigned.statusCode).toBe(413);
    expect(unsigned.json()).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
  });

  it.each([
    ['text/plain to jira', 'jira', 'text/plain'],
    ['XML to sonar', 'sonar', 'application/xml'],
    ['a form to jira (only Datadog may send forms)', 'jira', 'application/x-www-form-urlencoded'],
  ] as const)('answers 415 for %s', async (_, route, contentType) => {
    const reply = await harness.post(route, jira, { ...signedHeaders(route, jira), 'content-type': contentType });
    expect(reply.statusCode).toBe(415);
    expect(reply.json()).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type' });
  });

  it('answers 415 for a body without a content type', async () => {
    const { 'content-type': _, ...headers } = signedHeaders('sonar', sonar);
    expect((await harness.post('sonar', sonar, headers)).statusCode).toBe(415);
  });

  it('published nothing for any of them', async () => {
    await expectNothingPublishedSince(harness, mark);
  });
});

describe('odd but authenticated input', () => {
  it('never answers a 5xx other than 503, whatever arrives', async () => {
    const bodies = [
      'null',
      '0',
      '{}',
      '{"webhookEvent":"jira:issue_updated","issue":{"id":1},"changelog":{"items":[1]}}',
      '{"webhookEvent":"jira:issue_created","issue":{"id":"1","fields":{"description":{"type":"doc","content":[{"type":7}]}}}}',
      '{"id":"1","tags":[1,2]}',
      '{"status":"SUCCESS","project":{"key":"p"},"qualityGate":{"status":"ERROR","conditions":[{}]}}',
    ];
    for (const route of ['jira', 'datadog', 'sonar'] as const) {
      for (const body of bodies) {
        const reply = await signed(route, body);
        expect([200, 202, 400], `${route} ${body}: ${reply.body}`).toContain(reply.statusCode);
      }
    }
    expect((await harness.app.inject({ method: 'POST', url: '/webhooks/github', payload: '{}' })).statusCode).toBe(404);
    expect((await harness.app.inject({ method: 'GET', url: '/webhooks/jira' })).statusCode).toBe(404);
  });
});
