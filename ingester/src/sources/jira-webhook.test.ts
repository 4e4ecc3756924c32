import { describe, expect, it } from 'vitest';
import { fixture, fixtureJson, JIRA_CREATED_TASK } from '../../test/fixture.ts';
import { JiraPayload, jiraIgnoreReason, jiraPriority, jiraWebhook, normalizeJira } from './jira-webhook.ts';
import { createSourceRegistry } from './registry.ts';

const created = fixtureJson('jira-issue_created-1.json');
const closed = fixtureJson('jira-issue_updated-1.json');
const comment = fixtureJson('jira-comment_created-1.json');

const noTriggers = { triggerLabel: undefined, triggerStatuses: [] };
const parse = (body: unknown) => JiraPayload.parse(body);

function updated(items: { field: string; fromString: string | null; toString: string | null }[]) {
  return parse({ ...closed, changelog: { id: '1', items: items.map((item) => ({ fieldtype: 'jira', ...item })) } });
}

describe('jira normalization', () => {
  it('turns the created issue into the task the original made, plus the added fields', () => {
    expect(normalizeJira(parse(created))).toEqual(JIRA_CREATED_TASK);
  });

  it('keys the incident on issue.id, which survives a move, not on the key', () => {
    const moved = { ...created, issue: { ...created.issue, key: 'NEW-7' } };
    expect(normalizeJira(parse(moved))).toMatchObject({ external_id: 'NEW-7', dedup_key: 'jira:10040' });
  });

  it('falls back to the issue id when there is no key, and renders an ADF description', () => {
    const adf = {
      type: 'doc',
      version: 1,
      content: [{ type: 'paragraph', content: [{ type: 'text', text: 'NPE in checkout' }] }],
    };
    const { key: _key, ...issue } = created.issue;
    const task = normalizeJira(
      parse({ ...created, issue: { ...issue, fields: { ...issue.fields, description: adf } } }),
    );
    expect(task).toMatchObject({ external_id: '10040', description: 'Unit test summary\n\nNPE in checkout' });
    expect(task.url).toBeUndefined();
  });

  it.each([
    ['Highest', 'P1'],
    ['critical', 'P1'],
    ['BLOCKER', 'P1'],
    ['High', 'P2'],
    ['major', 'P2'],
    ['Medium', 'P3'],
    ['normal', 'P3'],
    ['Low', 'P4'],
    ['lowest', 'P4'],
    ['Minor', 'P4'],
    ['trivial', 'P4'],
    ['Urgent-ish', 'P3'],
    [undefined, 'P3'],
  ])('maps priority %s to %s', (name, priority) => {
    expect(jiraPriority(name)).toBe(priority);
  });

  it('answers a missing issue on an issue event with the field named', () => {
    expect(JiraPayload.safeParse({ webhookEvent: 'jira:issue_created' }).error?.issues[0]).toMatchObject({
      path: ['issue'],
      message: 'required for jira:issue_created events',
    });
  });
});

describe('jira triggers', () => {
  const label = { triggerLabel: 'anton', triggerStatuses: [] };
  const statuses = { triggerLabel: undefined, triggerStatuses: ['Ready for AI', 'selected for development'] };

  it('starts work for every created issue when no label is set', () => {
    expect(jiraIgnoreReason(parse(created), noTriggers)).toBeUndefined();
  });

  it('starts work for a created issue only when it carries the trigger label', () => {
    expect(jiraIgnoreReason(parse(created), label)).toBe('issue created without the label "anton"');
    const labelled = {
      ...created,
      issue: { ...created.issue, fields: { ...created.issue.fields, labels: ['anton'] } },
    };
    expect(jiraIgnoreReason(parse(labelled), label)).toBeUndefined();
  });

  it('never starts work for updates when neither a label nor statuses are configured', () => {
    expect(jiraIgnoreReason(parse(closed), noTriggers)).toMatch(
      /only when JIRA_TRIGGER_LABEL or JIRA_TRIGGER_STATUSES/,
    );
  });

  it('starts work when an update adds the trigger label, not when the label was already there', () => {
    const adds = updated([{ field: 'labels', fromString: 'backend', toString: 'anton backend' }]);
    const keeps = updated([{ field: 'labels', fromString: 'anton', toString: 'anton backend' }]);
    expect(jiraIgnoreReason(adds, label)).toBeUndefined();
    expect(jiraIgnoreReason(keeps, label)).toMatch(/neither adds the trigger label/);
  });

  it('starts work when an update moves the issue into a trigger status (case-insensitive)', () => {
    const moves = updated([{ field: 'status', fromString: 'To Do', toString: 'Selected for Development' }]);
    expect(jiraIgnoreReason(moves, statuses)).toBeUndefined();
  });

  it('ignores closing an issue, other edits and moves between trigger statuses', () => {
    expect(jiraIgnoreReason(parse(closed), statuses)).toMatch(/neither adds/);
    const edit = updated([{ field: 'summary', fromString: 'a', toString: 'b' }]);
    expect(jiraIgnoreReason(edit, { triggerLabel: 'anton', triggerStatuses: ['Ready for AI'] })).toMatch(/neither/);
    const within = updated([{ field: 'status', fromString: 'Ready for AI', toString: 'Selected for Development' }]);
    expect(jiraIgnoreReason(within, statuses)).toMatch(/neither/);
  });

  it('ignores comments and every other event', () => {
    expect(jiraIgnoreReason(parse(comment), label)).toBe('comment_created events do not start work');
    expect(jiraIgnoreReason(parse({ webhookEvent: 'jira:issue_deleted', issue: { id: '1' } }), label)).toBe(
      'jira:issue_deleted events do not start work',
    );
  });

  it('reads changelog items without a toString as empty, not as Object.prototype.toString', () => {
    const odd = parse({ ...closed, changelog: { items: [{ field: 'labels', fromString: null }] } });
    expect(jiraIgnoreReason(odd, label)).toMatch(/neither/);
  });
});

describe('jira authentication', () => {
  const source = jiraWebhook(noTriggers);
  const body = fixture('jira-issue_created-1.json');

  it('accepts its own signature with the sha256= prefix in any case; the shared-secret header only when allowed', () => {
    const [header, value] = Object.entries(source.sign(body, 's3cret'))[0] ?? [];
    expect(header).toBe('x-hub-signature');
    expect(source.authenticate({ 'x-hub-signature': value }, body, 's3cret')).toBe(true);
    expect(source.authenticate({ 'x-hub-signature': value?.replace('sha256=', 'SHA256=') }, body, 's3cret')).toBe(true);
    expect(source.authenticate({ 'x-webhook-secret': 's3cret' }, body, 's3cret')).toBe(false);
    const allowing = createSourceRegistry({ jira: noTriggers, sharedSecretSources: ['jira'] });
    expect(allowing.jira.authenticate({ 'x-webhook-secret': 's3cret' }, body, 's3cret')).toBe(true);
    expect(allowing.sonarcloud.authenticate({ 'x-webhook-secret': 's3cret' }, body, 's3cret')).toBe(false);
  });

  it('reads the delivery id Jira keeps across retries', () => {
    expect(source.deliveryId?.({ 'x-atlassian-webhook-identifier': '42-abc' })).toBe('42-abc');
  });
});
