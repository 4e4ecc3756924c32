import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeJira } from './fake-jira.ts';

const adf = (...paragraphs: string[]) => ({
  type: 'doc',
  version: 1,
  content: paragraphs.map((text) => ({ type: 'paragraph', content: [{ type: 'text', text }] })),
});

const readJson = <T>(res: Response): Promise<T> => res.json() as Promise<T>;

describe('FakeJira driven by fetch, as the orchestrator calls Jira', () => {
  let jira: FakeJira;
  /** A request the way a Jira client sends it: basic auth with email and API token, JSON. */
  const call = (method: string, path: string, body?: unknown, auth?: string) =>
    fetch(`${jira.url}${path}`, {
      method,
      headers: {
        authorization: auth ?? `Basic ${Buffer.from(`${jira.email}:${jira.apiToken}`).toString('base64')}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  beforeAll(async () => {
    jira = await FakeJira.start({ email: 'bot@acme.test', apiToken: 'atl-token' });
    jira.addIssue('SHOP-1', { id: '10042', labels: ['backend'] });
  });
  afterAll(() => jira.close());

  it('adds a v2 plain-text comment and a v3 ADF comment', async () => {
    const v2 = await call('POST', '/rest/api/2/issue/SHOP-1/comment', { body: 'PR opened: https://x/pull/1' });
    expect(v2.status).toBe(201);
    expect(await v2.json()).toMatchObject({
      body: 'PR opened: https://x/pull/1',
      author: { emailAddress: 'bot@acme.test' },
      self: expect.stringContaining('/rest/api/2/issue/10042/comment/'),
    });

    const doc = {
      type: 'doc',
      version: 1,
      content: [
        {
          type: 'paragraph',
          content: [
            { type: 'text', text: 'Fix ready: ' },
            { type: 'text', text: 'PR #2', marks: [{ type: 'strong' }] },
          ],
        },
        {
          type: 'bulletList',
          content: [
            { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'tests pass' }] }] },
          ],
        },
      ],
    };
    const v3 = await call('POST', '/rest/api/3/issue/SHOP-1/comment', { body: doc });
    expect(v3.status).toBe(201);
    expect((await readJson<{ body: unknown }>(v3)).body).toEqual(doc);

    expect(jira.comments('SHOP-1').map((c) => [c.apiVersion, c.text])).toEqual([
      [2, 'PR opened: https://x/pull/1'],
      [3, 'Fix ready: PR #2\n- tests pass'],
    ]);
    expect(jira.comments('SHOP-1')[1]?.raw).toEqual(doc);

    const listed = await readJson<{ total: number; comments: Array<{ body: unknown }> }>(
      await call('GET', '/rest/api/3/issue/10042/comment'),
    );
    expect(listed.total).toBe(2);
    expect(listed.comments[0]?.body).toEqual(adf('PR opened: https://x/pull/1'));
  });

  it('answers 401 without credentials (JSON) and with a wrong token (plain text)', async () => {
    const none = await fetch(`${jira.url}/rest/api/3/issue/SHOP-1/comment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ body: adf('x') }),
    });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({
      errorMessages: ['You are not authenticated. Authentication required to perform this operation.'],
      errors: {},
    });

    const wrong = await call(
      'POST',
      '/rest/api/3/issue/SHOP-1/comment',
      { body: adf('x') },
      `Basic ${Buffer.from('bot@acme.test:nope').toString('base64')}`,
    );
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toContain('text/plain');
    expect(await wrong.text()).toBe('Client must be authenticated to access this resource.');
    expect(jira.comments('SHOP-1')).toHaveLength(2);
  });

  it('answers 404 in Jira shape for an unknown issue', async () => {
    const res = await call('POST', '/rest/api/2/issue/NOPE-9/comment', { body: 'x' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      errorMessages: ['Issue does not exist or you do not have permission to see it.'],
      errors: {},
    });
  });

  it('rejects malformed comment bodies like Jira', async () => {
    const cases: Array<[string, unknown]> = [
      ['/rest/api/3/issue/SHOP-1/comment', { body: 'plain text to v3' }],
      ['/rest/api/3/issue/SHOP-1/comment', { body: { type: 'doc', version: 2, content: [] } }],
      [
        '/rest/api/3/issue/SHOP-1/comment',
        { body: { type: 'doc', version: 1, content: [{ type: 'text', text: 'inline at top' }] } },
      ],
      [
        '/rest/api/3/issue/SHOP-1/comment',
        { body: { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: '' }] }] } },
      ],
      ['/rest/api/3/issue/SHOP-1/comment', { body: { type: 'doc', version: 1, content: [{ type: 'markdown' }] } }],
      ['/rest/api/2/issue/SHOP-1/comment', { body: adf('ADF to v2') }],
    ];
    for (const [path, body] of cases) {
      const res = await call('POST', path, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await res.json()).toEqual({ errorMessages: [], errors: { comment: 'Comment body is not valid!' } });
    }
    const empty = await call('POST', '/rest/api/2/issue/SHOP-1/comment', { body: '' });
    expect(await empty.json()).toEqual({ errorMessages: [], errors: { comment: 'Comment body can not be empty!' } });

    const notJson = await fetch(`${jira.url}/rest/api/2/issue/SHOP-1/comment`, {
      method: 'POST',
      headers: { authorization: jira.authorization, 'content-type': 'application/json' },
      body: '{"body": ',
    });
    expect(notJson.status).toBe(400);
    const noType = await fetch(`${jira.url}/rest/api/2/issue/SHOP-1/comment`, {
      method: 'POST',
      headers: { authorization: jira.authorization },
      body: JSON.stringify({ body: 'x' }),
    });
    expect(noType.status).toBe(415);
    expect(jira.comments('SHOP-1')).toHaveLength(2);
  });

  it('updates labels and transitions the issue', async () => {
    const put = await call('PUT', '/rest/api/3/issue/SHOP-1', {
      update: { labels: [{ add: 'anton' }, { remove: 'backend' }] },
    });
    expect(put.status).toBe(204);
    expect(jira.issue('SHOP-1').labels).toEqual(['anton']);
    const spaced = await call('PUT', '/rest/api/3/issue/SHOP-1', { update: { labels: [{ add: 'two words' }] } });
    expect(spaced.status).toBe(400);
    const unknown = await call('PUT', '/rest/api/3/issue/SHOP-1', { fields: { priority: { name: 'High' } } });
    expect((await readJson<{ errors: Record<string, string> }>(unknown)).errors.priority).toContain('cannot be set');

    const { transitions } = await readJson<{ transitions: Array<{ id: string; name: string }> }>(
      await call('GET', '/rest/api/3/issue/SHOP-1/transitions'),
    );
    const inProgress = transitions.find((t) => t.name === 'In Progress');
    const moved = await call('POST', '/rest/api/3/issue/SHOP-1/transitions', { transition: { id: inProgress?.id } });
    expect(moved.status).toBe(204);
    expect(jira.issue('SHOP-1').status).toBe('In Progress');
    const bad = await call('POST', '/rest/api/3/issue/SHOP-1/transitions', { transition: { id: '999' } });
    expect(bad.status).toBe(400);
    expect((await readJson<{ errorMessages: string[] }>(bad)).errorMessages).toEqual([
      "Transition id '999' is not valid for this issue.",
    ]);
  });

  it('injects server errors, rate limits, slow answers and dropped connections', async () => {
    jira.serverError(1);
    expect((await call('GET', '/rest/api/3/issue/SHOP-1')).status).toBe(500);
    expect((await call('GET', '/rest/api/3/issue/SHOP-1')).status).toBe(200);

    jira.rateLimited(7, 1);
    const limited = await call('GET', '/rest/api/3/issue/SHOP-1');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');

    jira.inject({ kind: 'delay', ms: 50 });
    expect((await call('GET', '/rest/api/3/myself')).status).toBe(200);

    jira.inject({ kind: 'drop' });
    await expect(call('GET', '/rest/api/3/myself')).rejects.toThrow();
    expect((await call('GET', '/rest/api/3/myself')).status).toBe(200);
  });
});
