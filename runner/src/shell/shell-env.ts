/**
 * Variables the agent's shell inherits from the runner, by name: what locating tools, locale and
 * build toolchains need. Nothing else passes: no API key, no token, no proxy address, and no
 * HTTP(S)_PROXY either (such URLs often embed credentials). An allowlist, so a variable added to
 * the runner's environment later is hidden from the agent by default.
 */
export const INHERITED_SHELL_VARS = [
  'PATH',
  'HOME',
  'LANG',
  'LC_ALL',
  'TMPDIR',
  'TZ',
  'JAVA_HOME',
  'MAVEN_HOME',
  'GRADLE_USER_HOME',
  // Package caches (pip, uv, yarn, pnpm) on the Job's cache volume, as the runner images set them.
  'XDG_CACHE_HOME',
  'XDG_DATA_HOME',
  'GOPATH',
  'GOROOT',
  'GOCACHE',
  'CARGO_HOME',
  'RUSTUP_HOME',
  'PYTHONPATH',
  'VIRTUAL_ENV',
  'NODE_PATH',
] as const;

/** Set for every command: non-interactive, no colours, and a git that never asks for or finds a credential. */
const FIXED: Record<string, string> = {
  TERM: 'dumb',
  CI: '1',
  NO_COLOR: '1',
  PAGER: 'cat',
  GIT_PAGER: 'cat',
  GIT_TERMINAL_PROMPT: '0',
  // No system or global git config: a credential helper configured there would answer for the
  // agent's git. The repository's own config holds none (see workspace/clone.ts).
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

const DEFAULTS: Record<string, string> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/tmp',
  LANG: 'C.UTF-8',
};

/** The complete environment of the agent's commands, from the allowlisted part of the runner's. */
export function shellEnvironment(inherited: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = { ...DEFAULTS };
  for (const name of INHERITED_SHELL_VARS) {
    const value = inherited[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  return { ...env, ...FIXED };
}
