import { chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentUser } from '../shell/agent-user.ts';
import type { GitAccess } from './git-access.ts';
import { GIT_IDENTITY } from './git-identity.ts';
import { gitIn } from './run-git.ts';

export interface CloneOptions {
  dir: string;
  access: GitAccess;
  baseBranch: string;
  branch: string;
  /** Environment of every git command (no credential in it; see GitAccess.remoteEnv). */
  env: Record<string, string>;
  /** Commits of history to fetch: enough for `git log` to be useful, far less than a full clone. */
  depth?: number;
  /** The agent's own user (a root runner): the clone and every git command run as it. */
  owner?: AgentUser;
}

export class WorkspaceError extends Error {
  override name = 'WorkspaceError';
}

/**
 * The repository the coder works in: cloned shallow and blob-filtered (git falls back to a full
 * fetch of the tip when the server does not support filters), on a new branch `fix/<id>`.
 */
export class Workspace {
  readonly dir: string;
  readonly branch: string;
  /** The commit the branch started from: what the reviewed diff is taken against. */
  readonly baseSha: string;
  readonly #access: GitAccess;
  readonly #env: Record<string, string>;
  readonly #owner: AgentUser | undefined;
  /** .git/config as the runner left it; restored before the runner's own git commands. */
  readonly #config: string;

  private constructor(options: CloneOptions, baseSha: string, config: string) {
    this.dir = options.dir;
    this.branch = options.branch;
    this.baseSha = baseSha;
    this.#access = options.access;
    this.#env = options.env;
    this.#owner = options.owner;
    this.#config = config;
  }

  static async clone(options: CloneOptions): Promise<Workspace> {
    const { dir, access, baseBranch, branch, env, owner } = options;
    await mkdir(dir, { recursive: true });
    if ((await readdir(dir)).length > 0) throw new WorkspaceError(`the work directory ${dir} is not empty`);
    if (owner) await chown(dir, owner.uid, owner.gid);
    const depth = String(options.depth ?? 50);
    // As few git commands as possible, none of them silent: simple-git waits a fixed 50 ms after
    // every command that prints nothing, so the clone and the checkout run without --quiet.
    await gitIn(dir, { ...env, ...access.remoteEnv }, owner).raw([
      'clone',
      '--depth',
      depth,
      '--filter=blob:none',
      '--single-branch',
      '--no-tags',
      '--branch',
      baseBranch,
      // Written to .git/config by the clone itself. An empty helper resets the list: no credential
      // helper answers the agent's git.
      '--config',
      `user.name=${GIT_IDENTITY.name}`,
      '--config',
      `user.email=${GIT_IDENTITY.email}`,
      '--config',
      'credential.helper=',
      '--',
      access.transportUrl,
      dir,
    ]);
    const git = gitIn(dir, env, owner);
    if (access.publicUrl !== access.transportUrl) await git.raw(['remote', 'set-url', 'origin', access.publicUrl]);
    // The clone's reflog names the URL it came from (the proxy's, in proxy mode).
    await rm(join(dir, '.git', 'logs'), { recursive: true, force: true });
    await git.raw(['checkout', '-b', branch]);
    const baseSha = (await git.revparse(['HEAD'])).trim();
    const config = await readFile(join(dir, '.git', 'config'), 'utf8');
    return new Workspace(options, baseSha, config);
  }

  /**
   * Stages everything and returns the diff against the base commit: the staged diff, so new files
   * are in it (the original's `git diff HEAD` left them out), with its file list.
   */
  async stagedDiff(): Promise<{ patch: string; stat: string }> {
    const git = await this.#git();
    await git.raw(['add', '-A']);
    const diff = ['diff', '--cached', '--no-ext-diff', '--no-textconv'];
    const patch = await git.raw([...diff, this.baseSha]);
    const stat = await git.raw([...diff, '--stat=120', this.baseSha]);
    return { patch, stat };
  }

  /**
   * Commits every change since the base as one commit by anton-bot; returns it. Commits the agent
   * may have made itself are folded in, so the branch is the base plus exactly the reviewed diff.
   */
  async commit(message: string): Promise<string> {
    const git = await this.#git();
    await git.raw(['reset', '--soft', this.baseSha]);
    await git.raw(['add', '-A']);
    await git.raw([
      '-c',
      `user.name=${GIT_IDENTITY.name}`,
      '-c',
      `user.email=${GIT_IDENTITY.email}`,
      'commit',
      '--quiet',
      '--no-verify',
      '-m',
      message,
    ]);
    return (await git.revparse(['HEAD'])).trim();
  }

  /**
   * Pushes HEAD to the branch, replacing only what is there now (a retried run's earlier push of
   * the same branch): the lease is the remote's current value, read just before.
   */
  async push(): Promise<void> {
    const git = gitIn(this.dir, { ...this.#env, ...this.#access.remoteEnv }, this.#owner);
    await this.#restoreConfig();
    const ref = `refs/heads/${this.branch}`;
    const listed = await git.raw(['ls-remote', '--', this.#access.transportUrl, ref]);
    const current = listed.split(/\s/)[0] ?? '';
    // The proxy moves the branch only from the value declared here (GitAccess.pushEnv).
    await gitIn(this.dir, { ...this.#env, ...this.#access.pushEnv(current) }, this.#owner).raw([
      'push',
      '--quiet',
      '--no-verify',
      `--force-with-lease=${ref}:${current}`,
      '--',
      this.#access.transportUrl,
      `HEAD:${ref}`,
    ]);
  }

  async #git() {
    await this.#restoreConfig();
    return gitIn(this.dir, this.#env, this.#owner);
  }

  /** Undoes whatever the agent did to .git/config and .git/hooks before git runs for the runner. */
  async #restoreConfig(): Promise<void> {
    await writeFile(join(this.dir, '.git', 'config'), this.#config);
    await rm(join(this.dir, '.git', 'hooks'), { recursive: true, force: true });
  }
}
