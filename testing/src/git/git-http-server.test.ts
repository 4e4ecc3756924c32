import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGit } from './git-env.ts';
import { type GitHttpServer, startGitHttpServer } from './git-http-server.ts';
import { createSampleRepo, type SampleRepo } from './sample-repo.ts';

const TOKEN = 'ghs_testtoken0123456789abcdef';

/** The token reaches git only through the environment, as the runner's direct mode does. */
function headerEnv(value: string): Record<string, string> {
  return { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: value };
}
const basic = (token: string) =>
  headerEnv(`Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`);

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function gitFails(args: string[], env: Record<string, string> = {}): Promise<string> {
  try {
    await runGit(args, { env });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`git ${args.join(' ')} succeeded`);
}

describe('startGitHttpServer', () => {
  let repo: SampleRepo;
  let server: GitHttpServer;
  let scratch: string;
  let remote: string;
  beforeAll(async () => {
    repo = await createSampleRepo();
    server = await startGitHttpServer({ root: repo.root, token: TOKEN });
    scratch = await mkdtemp(join(tmpdir(), 'anton-http-clone-'));
    remote = server.repoUrl(repo.name);
  });
  afterAll(async () => {
    await server.close();
    await repo.cleanup();
    await rm(scratch, { recursive: true, force: true });
  });

  it('clones with the token given only as http.extraHeader, and leaves it in no file', async () => {
    const dir = join(scratch, 'basic');
    await runGit(['clone', '-q', remote, dir], { env: basic(TOKEN) });
    expect(await runGit(['-C', dir, 'rev-parse', 'HEAD'])).toBe(repo.mainSha);

    const encoded = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
    for (const file of await filesUnder(dir)) {
      const content = await readFile(file, 'latin1');
      expect(content.includes(TOKEN) || content.includes(encoded), file).toBe(false);
    }
    expect(await readFile(join(dir, '.git', 'config'), 'utf8')).not.toContain('extraHeader');

    const seen = server.requests.filter((r) => r.service === 'git-upload-pack');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((r) => r.auth === 'basic' && r.authorized)).toBe(true);
    expect(seen.some((r) => r.gitProtocol === 'version=2')).toBe(true);
    expect(JSON.stringify(server.requests)).not.toContain(TOKEN);
  });

  it('accepts a bearer token', async () => {
    await runGit(['clone', '-q', remote, join(scratch, 'bearer')], {
      env: headerEnv(`Authorization: Bearer ${TOKEN}`),
    });
    expect(server.requests.at(-1)).toMatchObject({ auth: 'bearer', authorized: true, status: 200 });
  });

  it('refuses a clone without a token, asking for Basic credentials', async () => {
    const message = await gitFails(['clone', '-q', remote, join(scratch, 'anonymous')]);
    expect(message).toMatch(/could not read Username|Authentication failed/);
    expect(server.requests.at(-1)).toMatchObject({ auth: 'none', authorized: false, status: 401 });
    const res = await fetch(`${remote}/info/refs?service=git-upload-pack`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="anton-test"');
  });

  it('refuses a clone with a wrong token', async () => {
    const message = await gitFails(['clone', '-q', remote, join(scratch, 'wrong')], basic('ghs_wrong'));
    expect(message).toMatch(/could not read Username|Authentication failed/);
    expect(server.requests.at(-1)).toMatchObject({ auth: 'basic', authorized: false, status: 401 });
  });

  it('pushes a branch over HTTP into the bare repository', async () => {
    const dir = join(scratch, 'push');
    await runGit(['clone', '-q', remote, dir], { env: basic(TOKEN) });
    await runGit(['-C', dir, 'checkout', '-q', '-b', 'anton/fix-discount']);
    await writeFile(join(dir, 'CHANGELOG.md'), 'Fixed the discount.\n');
    await runGit(['-C', dir, 'add', '-A']);
    await runGit(['-C', dir, 'commit', '-q', '-m', 'Fix discount']);
    const pushed = await runGit(['-C', dir, 'rev-parse', 'HEAD']);
    await runGit(['-C', dir, 'push', '-q', 'origin', 'anton/fix-discount'], { env: basic(TOKEN) });

    expect(await runGit(['--git-dir', repo.bareDir, 'rev-parse', 'refs/heads/anton/fix-discount'])).toBe(pushed);
    expect(server.requests.some((r) => r.service === 'git-receive-pack' && r.status === 200)).toBe(true);
  });

  it('refuses a push without the token', async () => {
    const dir = join(scratch, 'push-anon');
    await runGit(['clone', '-q', remote, dir], { env: basic(TOKEN) });
    const message = await gitFails(['-C', dir, 'push', '-q', 'origin', 'HEAD:refs/heads/sneaky']);
    expect(message).toMatch(/could not read Username|Authentication failed/);
    expect(await gitFails(['--git-dir', repo.bareDir, 'rev-parse', '--verify', 'refs/heads/sneaky'])).toContain(
      'failed',
    );
  });

  it('serves a shallow partial clone (--depth 1 --filter=blob:none) and its lazy blob fetch', async () => {
    const dir = join(scratch, 'partial');
    await runGit(['clone', '-q', '--no-checkout', '--depth', '1', '--filter=blob:none', remote, dir], {
      env: basic(TOKEN),
    });
    expect(await runGit(['-C', dir, 'rev-parse', '--is-shallow-repository'])).toBe('true');
    const objects = await runGit(['-C', dir, 'rev-list', '--objects', '--missing=print', 'HEAD']);
    expect(objects.split('\n').filter((line) => line.startsWith('?')).length).toBeGreaterThan(0);

    await runGit(['-C', dir, 'checkout', '-q', 'main'], { env: basic(TOKEN) });
    expect(await readFile(join(dir, 'src', 'pricing.js'), 'utf8')).toContain('applyDiscount');
  });

  it('answers 404 for a repository that is not there', async () => {
    const res = await fetch(`${server.url}/acme/missing.git/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(404);
  });
});
