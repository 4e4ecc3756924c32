import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSampleRepo, type GitHttpServer, runGit, type SampleRepo, startGitHttpServer } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, makeTempDir, type TempDir } from '../testing/temp-dir.ts';
import { gitAccessFor } from './git-access.ts';
import { gitEnvironment } from './run-git.ts';
import { Workspace } from './workspace.ts';

const TOKEN = 'ghs_reviewedIsPushedToken0123456789';
const EVIL = 'export const stolen = require("child_process");\n';

/**
 * The agent owns its `.git` and its HOME. Each trick below made the runner's git show the reviewer
 * one diff and push another, or run the agent's code inside the runner's own git commands. The
 * reviewed patch must be byte for byte the diff of the pushed commit, as a clean git sees it.
 */
describe('what the reviewer sees is what is pushed', () => {
  let repo: SampleRepo;
  let server: GitHttpServer;
  let tmp: TempDir;
  let counter = 0;
  beforeAll(async () => {
    repo = await createSampleRepo();
    server = await startGitHttpServer({ root: repo.root, token: TOKEN });
    tmp = await makeTempDir();
  });
  afterAll(async () => {
    await server.close();
    await repo.cleanup();
    await tmp.cleanup();
  });

  /** A workspace whose runner inherits `home` as HOME (shared with the agent before). */
  async function workspace(home: string) {
    counter += 1;
    const branch = `fix/trick-${counter}`;
    const ws = await Workspace.clone({
      dir: join(tmp.path, `work-${counter}`),
      privateDir: tmp.path,
      access: gitAccessFor(server.repoUrl(repo.name), { kind: 'direct', token: TOKEN, gitOrigin: server.url }),
      baseBranch: 'main',
      branch,
      env: gitEnvironment({ PATH: process.env.PATH, HOME: home }),
    });
    return { ws, branch, gitDir: join(ws.dir, '.git') };
  }

  /** Reviews, commits and pushes; returns the reviewed patch and the pushed commit's diff from a clean git. */
  async function reviewAndPush(ws: Workspace, branch: string) {
    const { patch } = await ws.stagedDiff();
    await ws.commit('fix(T): a change');
    await ws.push();
    const pushed = await runGit(
      [
        'diff-tree',
        '-r',
        '-p',
        '--text',
        '--no-ext-diff',
        '--no-textconv',
        '--no-color',
        'main',
        `refs/heads/${branch}`,
      ],
      { cwd: repo.bareDir },
    );
    // The helper trims its output; the comparison is otherwise byte for byte.
    return { patch: patch.trim(), pushed };
  }

  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );

  it('replace refs: a replaced base commit does not hide a change from the reviewer', async () => {
    const { ws, branch } = await workspace(tmp.path);
    await writeFile(join(ws.dir, 'src', 'pricing.js'), EVIL);
    await writeFile(join(ws.dir, 'README.md'), 'harmless\n');
    // A fake base whose tree already holds the evil file: diffs against "base" then omit it.
    await git(ws.dir, 'add', 'src/pricing.js');
    const tree = await git(ws.dir, 'write-tree');
    const fake = await git(ws.dir, 'commit-tree', tree, '-m', 'fake base');
    await git(ws.dir, 'reset', '-q');
    await git(ws.dir, 'replace', ws.baseSha, fake);
    const { patch, pushed } = await reviewAndPush(ws, branch);
    expect(patch).toContain('child_process');
    expect(patch).toBe(pushed);
  });

  it('.git/info/attributes "* -diff": the reviewer sees the text, not "Binary files differ"', async () => {
    const { ws, branch, gitDir } = await workspace(tmp.path);
    await mkdir(join(gitDir, 'info'), { recursive: true });
    await writeFile(join(gitDir, 'info', 'attributes'), '* -diff\n');
    await writeFile(join(ws.dir, 'src', 'pricing.js'), EVIL);
    const { patch, pushed } = await reviewAndPush(ws, branch);
    expect(patch).toContain('child_process');
    expect(patch).toBe(pushed);
  });

  it('$HOME/.config/git/attributes "* -diff" of a shared HOME does not reach the runner', async () => {
    const home = join(tmp.path, 'shared-home');
    await mkdir(join(home, '.config', 'git'), { recursive: true });
    await writeFile(join(home, '.config', 'git', 'attributes'), '* -diff\n');
    await writeFile(join(home, '.gitconfig'), '[core]\n\tattributesFile = ~/.config/git/attributes\n');
    const { ws, branch } = await workspace(home);
    await writeFile(join(ws.dir, 'src', 'pricing.js'), EVIL);
    const { patch, pushed } = await reviewAndPush(ws, branch);
    expect(patch).toContain('child_process');
    expect(patch).toBe(pushed);
  });

  it('.git/commondir naming a config with commit.gpgSign + gpg.program runs nothing in the commit', async () => {
    const { ws, branch, gitDir } = await workspace(tmp.path);
    const marker = join(tmp.path, `gpg-ran-${counter}`);
    const planted = join(tmp.path, `planted-${counter}`);
    await mkdir(planted);
    // The agent's "common" directory: a copy of its git dir with a config of its own.
    await runGit(['clone', '-q', '--bare', '--no-local', gitDir, planted]);
    const gpg = join(tmp.path, `gpg-${counter}.sh`);
    await writeFile(gpg, `#!/bin/sh\nenv > ${marker}\nexit 1\n`, { mode: 0o755 });
    await writeFile(
      join(planted, 'config'),
      `${await readFile(join(planted, 'config'), 'utf8')}[commit]\n\tgpgSign = true\n[gpg]\n\tprogram = ${gpg}\n`,
    );
    await writeFile(join(gitDir, 'commondir'), `${planted}\n`);
    await writeFile(join(ws.dir, 'src', 'pricing.js'), EVIL);
    const { patch, pushed } = await reviewAndPush(ws, branch);
    expect(await exists(marker)).toBe(false);
    expect(patch).toBe(pushed);
  });

  it('url.insteadOf an ext:: command with protocol.ext.allow runs nothing and reads no token', async () => {
    const { ws, branch, gitDir } = await workspace(tmp.path);
    const marker = join(tmp.path, `ext-ran-${counter}`);
    const url = server.repoUrl(repo.name);
    const evil =
      `[protocol "ext"]\n\tallow = always\n[protocol]\n\tallow = always\n` +
      `[url "ext::sh -c env>${marker}% "]\n\tinsteadOf = ${url}\n`;
    await writeFile(join(gitDir, 'config'), `${await readFile(join(gitDir, 'config'), 'utf8')}${evil}`);
    const planted = join(tmp.path, `planted-ext-${counter}`);
    await runGit(['clone', '-q', '--bare', '--no-local', gitDir, planted]);
    await writeFile(join(planted, 'config'), `${await readFile(join(planted, 'config'), 'utf8')}${evil}`);
    await writeFile(join(gitDir, 'commondir'), `${planted}\n`);
    await writeFile(join(ws.dir, 'src', 'pricing.js'), EVIL);
    const { patch, pushed } = await reviewAndPush(ws, branch);
    expect(await exists(marker)).toBe(false);
    expect(patch).toBe(pushed);
  });
});
