import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { gitTestEnv, runGit } from './git-env.ts';
import { createSampleRepo, SAMPLE_FIX, type SampleRepo } from './sample-repo.ts';

const execFileAsync = promisify(execFile);

async function nodeTest(dir: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout } = await execFileAsync(process.execPath, ['--test', '--test-reporter=tap'], {
      cwd: dir,
      env: gitTestEnv(),
    });
    return { ok: true, output: stdout };
  } catch (err) {
    return { ok: false, output: String((err as { stdout?: string }).stdout) };
  }
}

describe('createSampleRepo', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  async function sample(options?: Parameters<typeof createSampleRepo>[0]): Promise<SampleRepo> {
    const repo = await createSampleRepo(options);
    cleanups.push(repo.cleanup);
    return repo;
  }
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'anton-clone-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  it('makes a bare repository whose main holds the sample project, reproducibly', async () => {
    const a = await sample();
    const b = await sample();
    expect(await runGit(['--git-dir', a.bareDir, 'rev-parse', '--is-bare-repository'])).toBe('true');
    expect(a.url).toBe(`file://${a.bareDir}`);
    expect(a.mainSha).toMatch(/^[0-9a-f]{40}$/);
    expect(b.mainSha).toBe(a.mainSha);
    const files = (await runGit(['--git-dir', a.bareDir, 'ls-tree', '-r', '--name-only', 'main'])).split('\n');
    expect(files).toEqual(expect.arrayContaining(['package.json', 'src/pricing.js', 'test/pricing.test.js']));
  });

  it('clones over file://; the test fails at HEAD and passes with the one-line fix', async () => {
    const repo = await sample();
    const dir = join(await tempDir(), 'work');
    await runGit(['clone', '-q', repo.url, dir]);
    const before = await nodeTest(dir);
    expect(before.ok).toBe(false);
    expect(before.output).toContain('not ok 1 - applies a percentage discount');

    const file = join(dir, SAMPLE_FIX.file);
    const source = await readFile(file, 'utf8');
    expect(source).toContain(SAMPLE_FIX.buggy);
    await writeFile(file, source.replace(SAMPLE_FIX.buggy, SAMPLE_FIX.fixed));
    const after = await nodeTest(dir);
    expect(after.ok).toBe(true);
  });

  it('adds branches and commits on request', async () => {
    const repo = await sample({
      name: 'org/extra',
      branches: ['release'],
      commits: [{ branch: 'feature', message: 'Add notes', files: { 'NOTES.md': 'notes\n', 'README.md': null } }],
    });
    expect(repo.bareDir.endsWith('org/extra.git')).toBe(true);
    const git = (...args: string[]) => runGit(['--git-dir', repo.bareDir, ...args]);
    expect(await git('rev-parse', 'refs/heads/release')).toBe(repo.mainSha);
    expect(await git('rev-list', '--count', 'main..feature')).toBe('1');
    const files = (await git('ls-tree', '-r', '--name-only', 'feature')).split('\n');
    expect(files).toContain('NOTES.md');
    expect(files).not.toContain('README.md');
  });
});
