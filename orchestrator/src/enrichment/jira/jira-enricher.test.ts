import { FakeJira } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTask } from '../../../test/tasks.ts';
import { jiraEnricher } from './jira-enricher.ts';

let jira: FakeJira;
const STACK = 'java.lang.NullPointerException\n\tat acme.OrderService.total(OrderService.java:42)';

beforeAll(async () => {
  jira = await FakeJira.start({ email: 'anton@acme.test', apiToken: 'atl-token', bearerToken: 'dc-pat-token' });
  jira.addIssue('ORD-42', {
    summary: 'Checkout NPE',
    labels: ['checkout', 'anton'],
    components: ['orders-service'],
    attachments: [
      { filename: 'server.log', mimeType: 'text/plain', content: `10:31:02 ERROR checkout failed\n${STACK}\n` },
      { filename: 'screenshot.png', mimeType: 'image/png', content: 'PNG…' },
    ],
    links: [
      {
        direction: 'outward',
        type: { name: 'Blocks', inward: 'is blocked by', outward: 'blocks' },
        key: 'ORD-50',
        summary: 'Release 2.5',
      },
      {
        direction: 'inward',
        type: { name: 'Duplicate', inward: 'is duplicated by', outward: 'duplicates' },
        key: 'ORD-39',
        summary: 'Discount crash',
        status: 'Done',
      },
    ],
  });
  jira.addComment('ORD-42', 'Happens only with discount codes.', undefined, 30);
  // anton's own report, written with its account: left out.
  jira.addComment(
    'ORD-42',
    'anton could not fix this.\nReason: tests failed\nTask 4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d.',
    { accountId: '5b10ac8d82e05b22cc7d4ef5', displayName: 'Anton Bot' },
    20,
  );
  jira.addComment(
    'ORD-42',
    'Stack trace is in server.log.',
    { accountId: '557058:beef', displayName: 'Sam Support' },
    10,
  );
});
afterAll(() => jira.close());

const basic = () => `Basic ${Buffer.from('anton@acme.test:atl-token').toString('base64')}`;
const enricher = (authorization = basic()) => jiraEnricher({ baseUrl: jira.url, authorization });
const signal = () => AbortSignal.timeout(5000);

describe('jira enrichment', () => {
  it("brings the discussion (oldest first, anton's own left out), attachments, links, components and labels", async () => {
    const found = await enricher().enrich(makeTask(), signal());
    const text = found?.text ?? '';
    expect(text).toContain('Components: orders-service');
    expect(text).toContain('Labels: checkout, anton');
    expect(text).toContain(
      'Linked issues:\n- blocks ORD-50: Release 2.5 (To Do)\n- is duplicated by ORD-39: Discount crash (Done)',
    );
    expect(text).toContain('- server.log (');
    expect(text).toContain('- screenshot.png (');
    expect(text).toContain(`Attachment server.log:\n10:31:02 ERROR checkout failed\n${STACK}`);
    expect(text).not.toContain('Attachment screenshot.png');
    expect(
      jira
        .received(/\/attachment\/content\//)
        .at(-1)
        ?.query.get('redirect'),
    ).toBe('false');
    expect(text).toContain('Comments (2, oldest first):');
    expect(text.indexOf('Happens only with discount codes.')).toBeLessThan(
      text.indexOf('Stack trace is in server.log.'),
    );
    expect(text).toContain('--- Sam Support');
    expect(text).not.toContain('anton could not fix this');
  });

  it("keeps a person's comment written with the reporting account", async () => {
    jira.addIssue('ORD-43');
    jira.addComment('ORD-43', 'I can reproduce it on staging.', {
      accountId: '5b10ac8d82e05b22cc7d4ef5',
      displayName: 'Anton Bot',
    });
    const found = await enricher().enrich(makeTask({ external_id: 'ORD-43' }), signal());
    expect(found?.text).toContain('I can reproduce it on staging.');
  });

  it('pages through long discussions', async () => {
    jira.addIssue('ORD-44');
    for (let i = 0; i < 120; i++) jira.addComment('ORD-44', `comment ${i}`, undefined, 200 - i);
    const found = await enricher().enrich(makeTask({ external_id: 'ORD-44' }), signal());
    expect(found?.text).toContain('Comments (120, oldest first):');
    expect(found?.text).toContain('comment 119');
    expect(jira.received('/rest/api/2/issue/ORD-44/comment').map((r) => r.query.get('startAt'))).toEqual(['0', '100']);
  });

  it('authenticates with a Data Center Bearer token', async () => {
    const found = await enricher('Bearer dc-pat-token').enrich(makeTask(), signal());
    expect(found?.text).toContain('Comments (');
  });

  it('fails on bad credentials (401) and an unknown issue (404)', async () => {
    await expect(enricher('Bearer wrong').enrich(makeTask(), signal())).rejects.toThrow(/HTTP 401/);
    await expect(enricher().enrich(makeTask({ external_id: 'ORD-404' }), signal())).rejects.toThrow(/HTTP 404/);
  });
});
