import { describe, expect, it } from 'vitest';
import { fixtureJson } from '../../test/fixture.ts';
import {
  cloneUrl,
  DatadogPayload,
  datadogIgnoreReason,
  datadogPriority,
  datadogWebhook,
  normalizeDatadog,
  tagLabels,
} from './datadog-webhook.ts';

const triggered = fixtureJson('datadog-triggered-2.json');
const testNotification = fixtureJson('datadog-default-rendered-1.json');
const parse = (body: unknown) => DatadogPayload.parse(body);

/** What a template following FACTS.md sends for one monitor group. */
const templated = {
  id: '7001',
  alert_id: '221164084',
  alert_cycle_key: 'cycle-9',
  alert_transition: 'Triggered',
  alert_type: 'error',
  alert_priority: 'P2',
  alert_scope: 'service:checkout, env:prod',
  title: '[Triggered on {service:checkout}] Error rate high',
  body: '%%%\nError rate above 5% on checkout\n%%%',
  tags: 'env:prod,service:checkout,git.repository_url:github.com/acme/checkout,team',
  link: 'https://app.datadoghq.com/event/event?id=7001',
  priority: 'normal',
};

describe('datadog normalization', () => {
  it('turns the real triggered delivery into a task, with the message unwrapped from %%%', () => {
    const task = normalizeDatadog(parse(triggered));
    expect(task).toMatchObject({
      external_id: '8306082202796025694',
      title: '[Triggered] High tracking',
      priority: 'P1',
      event: 'query_alert_monitor',
      url: 'https://app.datadoghq.com/monitors/221164084?from_ts=1759342924000&to_ts=1759344124000&event_id=8306082202796025694&link_source=monitor_notif',
      labels: {},
      dedup_key: 'datadog:event:8306082202796025694',
    });
    expect(task.description).toMatch(/^\[Triggered\] High tracking\n\nWe get high datadog\.event\.tracking/);
    expect(task.description).toContain('last triggered at Wed Oct 01 2025 18:37:04 UTC.');
    expect(task.description).toMatch(
      /\)\]\n\nTransition: Triggered\nLink: https:\/\/app\.datadoghq\.com\/monitors\/221164084\?from_ts=\d+&to_ts=\d+&event_id=8306082202796025694&link_source=monitor_notif$/,
    );
    expect(task.description).not.toContain('%%%');
    expect(task.repository).toBeUndefined();
  });

  it('reads tags, the link and the repository tag of a full template', () => {
    expect(normalizeDatadog(parse(templated))).toEqual({
      external_id: '7001',
      title: '[Triggered on {service:checkout}] Error rate high',
      priority: 'P2',
      event: 'Triggered',
      description: [
        '[Triggered on {service:checkout}] Error rate high',
        'Error rate above 5% on checkout',
        'Transition: Triggered\nScope: service:checkout, env:prod\n' +
          'Tags: env:prod, service:checkout, git.repository_url:github.com/acme/checkout, team\n' +
          'Link: https://app.datadoghq.com/event/event?id=7001',
      ].join('\n\n'),
      url: 'https://app.datadoghq.com/event/event?id=7001',
      labels: { env: 'prod', service: 'checkout', 'git.repository_url': 'github.com/acme/checkout', team: 'true' },
      dedup_key: 'datadog:cycle:cycle-9',
      repository: 'https://github.com/acme/checkout',
    });
  });

  it("carries a log monitor's $LOGS_SAMPLE, the query and the host of the recommended payload", () => {
    const draft = normalizeDatadog(
      parse({
        ...templated,
        alert_query: 'logs("service:checkout status:error").index("*").rollup("count").last("5m") > 10',
        hostname: 'checkout-7f9c',
        logs_sample: '| Timestamp | Message |\n| 14:00:01 | TypeError: total is undefined at cart.js:12 |',
      }),
    );
    expect(draft.description).toContain('Query: logs("service:checkout status:error")');
    expect(draft.description).toContain('Host: checkout-7f9c');
    expect(draft.description).toMatch(/Logs sample \(from the alert\):\n\| Timestamp \| Message \|\n.*cart\.js:12/);
    // A metric monitor renders $LOGS_SAMPLE empty: nothing is added.
    expect(normalizeDatadog(parse({ ...templated, logs_sample: '' })).description).not.toContain('Logs sample');
  });

  it('keys the incident on the cycle, else the monitor and its group (in any order), else the event', () => {
    const { alert_cycle_key: _, ...noCycle } = templated;
    expect(normalizeDatadog(parse(noCycle)).dedup_key).toBe('datadog:monitor:221164084:env:prod,service:checkout');
    const reordered = { ...noCycle, alert_scope: 'env:prod,service:checkout' };
    expect(normalizeDatadog(parse(reordered)).dedup_key).toBe('datadog:monitor:221164084:env:prod,service:checkout');
    expect(normalizeDatadog(parse({ alert_id: 5 })).dedup_key).toBe('datadog:monitor:5');
  });

  it('falls back for external_id through id, event_id and alert_id, and refuses a payload with none', () => {
    expect(normalizeDatadog(parse({ event_id: 'e1', alert_id: 'a1' })).external_id).toBe('e1');
    expect(normalizeDatadog(parse({ alert_id: 'a1' }))).toMatchObject({ external_id: 'a1', title: 'Datadog alert a1' });
    expect(normalizeDatadog(parse({ id: '', title: '', alert_id: 'a1' }))).toMatchObject({
      external_id: 'a1',
      title: 'Datadog alert a1',
    });
    expect(DatadogPayload.safeParse({ title: 'x', id: '' }).error?.issues[0]).toMatchObject({
      path: ['id'],
      message: 'required: one of id, event_id or alert_id',
    });
  });

  it.each([
    [{ alert_priority: 'P1' }, 'P1'],
    [{ alert_priority: 'p3' }, 'P3'],
    [{ alert_priority: 'P5' }, 'P4'],
    [{ priority: 'normal' }, 'P3'],
    [{ priority: 'low', alert_transition: 'Warn' }, 'P2'],
    [{ alert_status: 'Triggered' }, 'P1'],
    [{ alert_status: 'no data' }, 'P3'],
    [{ transition: 'Re-Triggered' }, 'P1'],
    [{ title: '[No Data] disk' }, 'P3'],
    [{ alert_status: 'cpu over 90% on host:a' }, 'P3'],
  ])('maps %o to %s (the event priority is not a P-level)', (fields, priority) => {
    expect(datadogPriority(parse({ id: '1', ...fields }))).toBe(priority);
  });

  it('turns git remotes into clone URLs', () => {
    expect(cloneUrl('github.com/acme/app')).toBe('https://github.com/acme/app');
    expect(cloneUrl('https://gitlab.example/acme/app.git')).toBe('https://gitlab.example/acme/app.git');
    expect(cloneUrl('git@github.com:acme/app.git')).toBe('https://github.com/acme/app.git');
  });

  it('joins repeated tag keys', () => {
    expect(tagLabels(['env:prod', 'env:staging', 'env:prod'])).toEqual({ env: 'prod,staging' });
  });
});

describe('datadog filters', () => {
  it.each([
    ['a test notification', testNotification, 'test notification'],
    ['a recovery', { ...triggered, transition: 'Recovered' }, 'recovery: the alert resolved'],
    ['a recovery by alert type', { ...templated, alert_transition: undefined, alert_type: 'success' }, 'recovery'],
    ['a recovery in the default template', { id: '1', title: '[Recovered] High tracking' }, 'recovery'],
    [
      'an unrendered template',
      { ...templated, alert_id: '$ALERT_ID' },
      'alert_id holds the unrendered template variable $ALERT_ID',
    ],
    ['a nested unrendered value', { ...triggered, org: { id: '$ORG_ID' } }, 'org.id holds the unrendered'],
    ['an unrendered tag lookup', { ...templated, tags: ['service:$TAGS[service]'] }, 'tags.0 holds the unrendered'],
  ])('ignores %s', (_, body, reason) => {
    expect(datadogIgnoreReason(parse(body))).toContain(reason);
  });

  it('starts work for triggered, re-triggered and warning alerts', () => {
    for (const alert_transition of ['Triggered', 'Re-Triggered', 'Warn']) {
      expect(datadogIgnoreReason(parse({ ...templated, alert_transition }))).toBeUndefined();
    }
  });
});

describe('datadog authentication', () => {
  const body = Buffer.from('{}');
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('accepts the secret as a custom header or as the Basic auth password, nothing else', () => {
    expect(datadogWebhook.authenticate(datadogWebhook.sign(body, 'pw'), body, 'pw')).toBe(true);
    expect(datadogWebhook.authenticate({ authorization: basic('datadog', 'pw') }, body, 'pw')).toBe(true);
    expect(datadogWebhook.authenticate({ authorization: basic('datadog', 'pw2') }, body, 'pw')).toBe(false);
    expect(datadogWebhook.authenticate({ authorization: 'Bearer pw' }, body, 'pw')).toBe(false);
    expect(datadogWebhook.authenticate({ 'x-webhook-secret': 'PW' }, body, 'pw')).toBe(false);
    expect(datadogWebhook.authenticate({}, body, 'pw')).toBe(false);
  });
});
