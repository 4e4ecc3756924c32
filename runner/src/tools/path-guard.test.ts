import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, type TempDir } from '../testing/temp-dir.ts';
import { PathGuard } from './path-guard.ts';

describe('PathGuard', () => {
  let tmp: TempDir;
  let root: string;
  let guard: PathGuard;

  beforeEach(async () => {
    tmp = await makeTempDir();
    root = join(tmp.path, 'repo');
    await mkdir(join(root, 'src'), { recursive: true });
    await mkdir(join(root, '.git'));
    await writeFile(join(root, 'src', 'a.js'), 'a');
    // A sibling whose name starts with the root's name: the original's string-prefix check let it through.
    await mkdir(join(tmp.path, 'repo-evil'));
    await writeFile(join(tmp.path, 'repo-evil', 'secret'), 'secret');
    guard = await PathGuard.create(root);
  });
  afterEach(() => tmp.cleanup());

  it('resolves paths inside the repository', async () => {
    expect(await guard.resolve('src/a.js', 'read')).toBe(join(guard.root, 'src', 'a.js'));
    expect(await guard.resolve('.', 'read')).toBe(guard.root);
    expect(await guard.resolve('src/new/dir/file.ts', 'write')).toBe(join(guard.root, 'src', 'new', 'dir', 'file.ts'));
    expect(await guard.resolve(join(root, 'src', 'a.js'), 'read')).toBe(join(guard.root, 'src', 'a.js'));
  });

  it.each([
    ['../outside', 'write'],
    ['../repo-evil/secret', 'read'],
    ['src/../../repo-evil/secret', 'read'],
    ['/etc/passwd', 'read'],
    ['/tmp', 'write'],
  ] as const)('rejects %s (%s)', async (path, access) => {
    await expect(guard.resolve(path, access)).rejects.toThrow(/outside the repository/);
  });

  it('follows symlinks before deciding', async () => {
    await symlink('/etc/passwd', join(root, 'passwd'));
    await symlink('/etc', join(root, 'etc'));
    await symlink(join(tmp.path, 'repo-evil'), join(root, 'evil'));
    await symlink('src', join(root, 'inside'));
    await expect(guard.resolve('passwd', 'read')).rejects.toThrow(/outside/);
    await expect(guard.resolve('etc/hostname', 'read')).rejects.toThrow(/outside/);
    await expect(guard.resolve('evil/new-file', 'write')).rejects.toThrow(/outside/);
    expect(await guard.resolve('inside/a.js', 'read')).toBe(join(guard.root, 'src', 'a.js'));
  });

  it('refuses a dangling symlink, whose target a write would create', async () => {
    await symlink(join(tmp.path, 'created-outside'), join(root, 'dangling'));
    await expect(guard.resolve('dangling', 'write')).rejects.toThrow(/symlink/);
  });

  it('refuses writes into .git but allows reading it', async () => {
    await expect(guard.resolve('.git/hooks/pre-commit', 'write')).rejects.toThrow(/\.git/);
    await expect(guard.resolve('src/../.git/config', 'write')).rejects.toThrow(/\.git/);
    expect(await guard.resolve('.git', 'read')).toBe(join(guard.root, '.git'));
    expect(await guard.resolve('.gitignore', 'write')).toBe(join(guard.root, '.gitignore'));
  });

  it('rejects a NUL byte', async () => {
    await expect(guard.resolve('src/a.js\0.png', 'read')).rejects.toThrow(/NUL/);
  });
});
