import { join } from 'node:path';
import type { AgentUser } from '../shell/agent-user.ts';
import { createShellRunner, type ShellLimits } from '../shell/run-shell.ts';
import { shellEnvironment } from '../shell/shell-env.ts';
import { agentFiles } from '../tools/agent-files.ts';
import { LIMITS } from '../tools/output-limits.ts';
import { PathGuard } from '../tools/path-guard.ts';
import type { ToolContext } from '../tools/tool.ts';
import { git } from './temp-dir.ts';

export interface TestShellOptions {
  /** What the shell's environment is scrubbed from, as the runner scrubs its own (default: this process's). */
  inherited?: Record<string, string | undefined>;
  timeoutMs: number;
  limits: ShellLimits;
  /** Run commands and file operations as this user (a root test, as the runner in its pod). */
  user?: AgentUser;
  fileTimeoutMs?: number;
}

/** The tools' context over the repository at `root`: a PathGuard on it and a shell runner in it. */
export async function toolContextAt(root: string, shell: TestShellOptions): Promise<ToolContext> {
  const guard = await PathGuard.create(root);
  const env = shellEnvironment(shell.inherited ?? process.env);
  const user = shell.user ? { user: shell.user } : {};
  return {
    guard,
    shell: createShellRunner({ cwd: guard.root, env, timeoutMs: shell.timeoutMs, limits: shell.limits, ...user }),
    files: agentFiles({ env, timeoutMs: shell.fileTimeoutMs ?? LIMITS.fileTimeoutMs, ...user }),
  };
}

/** A clone of `url` at `<parent>/repo`, with the tools' context over it. */
export async function cloneWithTools(
  url: string,
  parent: string,
  shell: TestShellOptions,
): Promise<{ dir: string; toolContext: ToolContext }> {
  const dir = join(parent, 'repo');
  await git(parent, 'clone', '-q', url, dir);
  return { dir, toolContext: await toolContextAt(dir, shell) };
}
