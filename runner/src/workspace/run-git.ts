import { execFile } from 'node:child_process';
import type { AgentUser } from '../shell/agent-user.ts';

export class GitCommandError extends Error {
  override name = 'GitCommandError';
}

export interface GitCommand {
  env: Record<string, string>;
  cwd?: string;
  /** Run as this user (the agent's), not the runner's own. */
  user?: AgentUser;
}

/**
 * Runs git without a shell and returns its stdout; any non-zero exit is a GitCommandError with
 * what git said. Output is bounded (a reviewer's diff is cut far below this later anyway).
 */
export function runGit(args: readonly string[], { env, cwd, user }: GitCommand): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      {
        env,
        ...(cwd ? { cwd } : {}),
        ...(user ? { uid: user.uid, gid: user.gid } : {}),
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const said = `${stderr}${stdout}`.trim();
        reject(new GitCommandError(said || `git ${args[0] ?? ''} failed: ${error.message}`));
      },
    );
  });
}

/**
 * The base environment of every git command the runner starts: enough to find git and a locale,
 * no prompt, and no system or global config (a developer's credential helper or URL rewrites stay
 * out). HOME is not passed on: the runner's own git gets a private one (see runner-git.ts).
 */
export function gitEnvironment(inherited: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = { PATH: inherited.PATH || '/usr/local/bin:/usr/bin:/bin' };
  if (inherited.LANG) env.LANG = inherited.LANG;
  return { ...env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
}
