import { join } from 'node:path';
import { runGit } from './run-git.ts';

/**
 * The runner's own git: a git directory only the runner can reach, and a configuration nothing
 * the agent wrote can add to. Every command names the git directory (and the agent's working tree
 * when it reads files) explicitly, so git discovers nothing: the agent's `.git` (its config,
 * commondir, replace refs, info/attributes, hooks) is never opened, and an explicit GIT_DIR also
 * skips the ownership check that a root-owned, group-writable work directory would fail.
 */
export interface RunnerGitOptions {
  /** The private git directory (bare, mode 0700, owned by the runner). */
  gitDir: string;
  /** An empty directory only the runner can reach: HOME and XDG_CONFIG_HOME of its git. */
  home: string;
  /** PATH and locale (see gitEnvironment). */
  env: Record<string, string>;
  /** The one URL scheme the remote is reached by; every other transport (ext::, fd::, …) is refused. */
  scheme: string;
}

/** Settings forced on every command, above anything in any config file git might still read. */
function forcedConfig(scheme: string): string[] {
  return [
    'core.hooksPath=/dev/null',
    'core.fsmonitor=false',
    'core.attributesFile=/dev/null',
    'core.excludesFile=/dev/null',
    'commit.gpgSign=false',
    'credential.helper=',
    'protocol.allow=never',
    `protocol.${scheme}.allow=always`,
  ].flatMap((setting) => ['-c', setting]);
}

export class RunnerGit {
  readonly gitDir: string;
  readonly #env: Record<string, string>;
  readonly #config: string[];

  constructor({ gitDir, home, env, scheme }: RunnerGitOptions) {
    this.gitDir = gitDir;
    this.#config = forcedConfig(scheme);
    this.#env = {
      ...env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_ATTR_NOSYSTEM: '1',
      GIT_NO_REPLACE_OBJECTS: '1',
      GIT_TERMINAL_PROMPT: '0',
    };
  }

  /** A command on the private git directory alone (no working tree). */
  run(args: readonly string[], extraEnv: Record<string, string> = {}): Promise<string> {
    return runGit([...this.#config, `--git-dir=${this.gitDir}`, ...args], { env: { ...this.#env, ...extraEnv } });
  }

  /** A command that reads the agent's working tree into the private index (never writes to it). */
  inTree(workTree: string, args: readonly string[], extraEnv: Record<string, string> = {}): Promise<string> {
    return runGit([...this.#config, `--git-dir=${this.gitDir}`, `--work-tree=${workTree}`, ...args], {
      env: { ...this.#env, ...extraEnv },
      cwd: workTree,
    });
  }

  /** Clones the remote into the private git directory (bare, so git writes no working tree of its own). */
  static clone(options: RunnerGitOptions, args: readonly string[], extraEnv: Record<string, string>): Promise<string> {
    const git = new RunnerGit(options);
    return runGit([...git.#config, 'clone', '--bare', ...args, options.gitDir], { env: { ...git.#env, ...extraEnv } });
  }
}

/** `https://…` → `https`; a local path or `file://` → `file`. */
export function urlScheme(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  return match?.[1]?.toLowerCase() ?? 'file';
}
