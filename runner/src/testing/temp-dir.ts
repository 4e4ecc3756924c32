import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { shellEnvironment } from '../shell/shell-env.ts';

const execFileAsync = promisify(execFile);

export interface TempDir {
  path: string;
  cleanup(): Promise<void>;
}

export async function makeTempDir(prefix = 'anton-runner-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** git with no global or system config, a fixed identity, and no prompt: what tests run git with. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const env = {
    ...shellEnvironment(process.env),
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@anton.test',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@anton.test',
  };
  const { stdout } = await execFileAsync('git', args, { cwd, env });
  return stdout.trim();
}
