import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The identity and clock every fixture commit uses, so the same content gives the same hashes. */
export const FIXTURE_AUTHOR = { name: 'Anton Fixture', email: 'fixture@anton.test' };
export const FIXTURE_EPOCH_SECONDS = 1_704_067_200; // 2024-01-01T00:00:00Z

/**
 * An environment for running the real `git` in tests: nothing inherited from the developer's
 * git (no GIT_* variables, no global or system config, so no credential helper answers), prompts
 * disabled so a missing credential fails at once instead of hanging, and a fixed identity.
 */
export function gitTestEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('GIT_') && key !== 'NODE_OPTIONS') env[key] = value;
  }
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: FIXTURE_AUTHOR.name,
    GIT_AUTHOR_EMAIL: FIXTURE_AUTHOR.email,
    GIT_COMMITTER_NAME: FIXTURE_AUTHOR.name,
    GIT_COMMITTER_EMAIL: FIXTURE_AUTHOR.email,
    ...extra,
  };
}

export interface GitRunOptions {
  cwd?: string;
  env?: Record<string, string>;
}

/** Runs git and returns its trimmed stdout; rejects with git's stderr in the message. */
export async function runGit(args: string[], { cwd, env = {} }: GitRunOptions = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', args, { cwd, env: gitTestEnv(env), maxBuffer: 64 * 1024 * 1024 });
    return stdout.trim();
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`git ${args.join(' ')} failed: ${stderr.trim()}`, { cause: err });
  }
}
