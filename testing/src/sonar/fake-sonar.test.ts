import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSonar } from './fake-sonar.ts';

let sonar: FakeSonar;

beforeAll(async () => {
  sonar = await FakeSonar.start({ token: 'squ_fake' });
  sonar.addProject('p', { branches: ['dev'] }).addRule('java:S1', 'Rule one');
  for (let i = 0; i < 5; i++) {
    sonar.addIssue('p', {
      rule: 'java:S1',
      severity: i === 3 ? 'BLOCKER' : 'MINOR',
      type: 'BUG',
      path: `src/F${i}.java`,
      line: i + 1,
      message: `m${i}`,
    });
  }
  sonar.addIssue('p', {
    rule: 'java:S1',
    severity: 'MAJOR',
    type: 'BUG',
    path: 'src/Dev.java',
    message: 'dev',
    branch: 'dev',
  });
});
afterAll(() => sonar.close());

async function get(path: string, authorization = 'Bearer squ_fake') {
  const response = await fetch(`${sonar.url}${path}`, { headers: { authorization } });
  const text = await response.text();
  return {
    status: response.status,
    json: text ? JSON.parse(text) : undefined,
    retryAfter: response.headers.get('retry-after'),
  };
}

describe('FakeSonar driven by fetch, as the Web API answers', () => {
  it('pages issues of the main branch, most severe first, with their components', async () => {
    const page = await get('/api/issues/search?componentKeys=p&resolved=false&s=SEVERITY&asc=false&p=1&ps=2');
    expect(page.status).toBe(200);
    expect(page.json.paging).toEqual({ pageIndex: 1, pageSize: 2, total: 5 });
    expect(page.json.issues.map((i: { severity: string }) => i.severity)).toEqual(['BLOCKER', 'MINOR']);
    expect(page.json.components).toEqual(
      expect.arrayContaining([expect.objectContaining({ key: 'p:src/F3.java', path: 'src/F3.java' })]),
    );
    const dev = await get('/api/issues/search?componentKeys=p&branch=dev');
    expect(dev.json.issues.map((i: { message: string }) => i.message)).toEqual(['dev']);
  });

  it('accepts the token as Bearer or as a Basic user with an empty password; anything else is a bodiless 401', async () => {
    const basic = `Basic ${Buffer.from('squ_fake:').toString('base64')}`;
    expect((await get('/api/rules/show?key=java:S1', basic)).json.rule.name).toBe('Rule one');
    expect(await get('/api/rules/show?key=java:S1', 'Bearer nope')).toMatchObject({ status: 401, json: undefined });
  });

  it('refuses what the Web API refuses, in its errors shape', async () => {
    expect(await get('/api/issues/search?componentKeys=p&ps=501')).toMatchObject({
      status: 400,
      json: { errors: [{ msg: "'ps' value (501) must be less than 500" }] },
    });
    expect((await get('/api/issues/search?componentKeys=p&p=21&ps=500')).status).toBe(400);
    expect((await get('/api/issues/search?componentKeys=p&branch=dev&pullRequest=1')).status).toBe(400);
    expect((await get('/api/issues/search?componentKeys=nope')).json).toEqual({
      errors: [{ msg: "Component key 'nope' not found" }],
    });
    expect((await get('/api/issues/search?componentKeys=p&branch=gone')).status).toBe(404);
    expect((await get('/api/rules/show?key=java:S404')).json).toEqual({
      errors: [{ msg: 'Rule not found: java:S404' }],
    });
  });

  it('rate limits with Retry-After', async () => {
    sonar.rateLimited(7);
    expect(await get('/api/rules/show?key=java:S1')).toMatchObject({ status: 429, retryAfter: '7' });
    expect((await get('/api/rules/show?key=java:S1')).status).toBe(200);
  });
});
