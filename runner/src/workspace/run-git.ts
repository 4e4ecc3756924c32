import { type SimpleGit, simpleGit } from 'simple-git';
import type { AgentUser } from '../shell/agent-user.ts';

/**
 * Configuration forced on every git command the runner itself runs after the agent had the
 * repository: the agent could have planted hooks or an fsmonitor command, and the runner's push
 * carries the credential in its environment in direct mode.
 */
const HARDENING = ['core.hooksPath=/dev/null', 'core.fsmonitor=false'];

/** Variables the runner passes to git on purpose; simple-git strips any other GIT_* variable. */
const ALLOWED_GIT_ENV = [
  'GIT_TERMINAL_PROMPT',
  'GIT_CONFIG_NOSYSTEM',
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_COUNT',
  'GIT_CONFIG_KEY_0',
  'GIT_CONFIG_VALUE_0',
  'GIT_CONFIG_KEY_1',
  'GIT_CONFIG_VALUE_1',
];

/**
 * The environment of the runner's own git commands: enough to find git and a locale, no prompt,
 * and no system or global config (a developer's credential helper or URL rewrites stay out).
 */
export function gitEnvironment(inherited: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = { PATH: inherited.PATH || '/usr/local/bin:/usr/bin:/bin' };
  if (inherited.HOME) env.HOME = inherited.HOME;
  if (inherited.LANG) env.LANG = inherited.LANG;
  return { ...env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
}

/**
 * simple-git refuses these settings unless told: each is set here by the runner itself, with
 * values it controls (the hardening above, the config paths and header of GitAccess, the empty
 * credential helper of the clone), never with text from the task or the model.
 */
const UNSAFE_ALLOWED = {
  allowUnsafeHooksPath: true,
  allowUnsafeFsMonitor: true,
  allowUnsafeConfigPaths: true,
  allowUnsafeConfigEnvCount: true,
  allowUnsafeCredentialHelper: true,
};

/**
 * Every non-zero exit is a failure. simple-git's default lets one with an empty stderr pass
 * (`git commit` with nothing to commit says so on stdout and exits 1).
 */
function failOnExitCode(
  error: Buffer | Error | undefined,
  { exitCode, stdErr, stdOut }: { exitCode: number; stdErr: Buffer[]; stdOut: Buffer[] },
): Buffer | Error | undefined {
  if (error) return error;
  if (exitCode === 0) return undefined;
  const output = Buffer.concat([...stdErr, ...stdOut]);
  return output.length > 0 ? output : Buffer.from(`git exited with code ${exitCode}`);
}

/**
 * A simple-git instance with an explicit environment (never the runner's own), run as the agent's
 * user when it has one: the repository then belongs to one user throughout, so neither the agent's
 * git nor the runner's finds it "dubiously owned" or a file it cannot write.
 */
export function gitIn(baseDir: string, env: Record<string, string>, user?: AgentUser): SimpleGit {
  return simpleGit({
    baseDir,
    config: HARDENING,
    allowEnvironment: ALLOWED_GIT_ENV,
    unsafe: UNSAFE_ALLOWED,
    errors: failOnExitCode,
    ...(user ? { spawnOptions: { uid: user.uid, gid: user.gid } } : {}),
  }).env(env);
}
