import { execFile } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, realpath, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { AgentUser } from '../shell/agent-user.ts';
import type { GitAccess } from './git-access.ts';
import { GIT_IDENTITY } from './git-identity.ts';
import { runGit } from './run-git.ts';
import { RunnerGit, urlScheme } from './runner-git.ts';

export interface CloneOptions {
  /** The agent's working tree (WORK_DIR): missing or empty. */
  dir: string;
  /** Where the runner makes its private directory (a fresh 0700 one under it); outside `dir`. */
  privateDir: string;
  access: GitAccess;
  baseBranch: string;
  branch: string;
  /** PATH and locale of every git command (see gitEnvironment; no credential in it). */
  env: Record<string, string>;
  /** Commits of history to fetch: enough for `git log` to be useful, far less than a full clone. */
  depth?: number;
  /** The agent's own user (a root runner): the agent's clone is made and owned by it. */
  owner?: AgentUser;
}

export class WorkspaceError extends Error {
  override name = 'WorkspaceError';
}

const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
/** One way to show a change, for the reviewer and for anyone checking the pushed commit. */
export const REVIEW_DIFF = ['diff-tree', '-r', '-p', '--text', '--no-ext-diff', '--no-textconv', '--no-color'];

/**
 * Two repositories for one task:
 * - the runner's own: a bare, shallow, blob-filtered clone in a directory only the runner (root)
 *   can reach, used with a configuration of its own (runner-git.ts). The reviewed diff, the commit
 *   and the push all come from it; the agent's working tree is only read into its index.
 * - the agent's: a copy of that clone, made by the agent's uid and owned by it, checked out in
 *   WORK_DIR on `fix/<id>`, for the agent's own `git log`, `diff`, `blame`. Nothing in it reaches
 *   the runner's git.
 */
export class Workspace {
  readonly dir: string;
  readonly branch: string;
  /** The commit the branch started from: what the reviewed diff is taken against. */
  readonly baseSha: string;
  /**
   * Environment the agent's git needs: WORK_DIR may belong to root with the pod's group (an
   * emptyDir with fsGroup), which git 2.39 calls "dubious ownership" unless safe.directory names
   * it in protected configuration (system, global or command scope; GIT_CONFIG_COUNT is command).
   */
  readonly agentGitEnv: Record<string, string>;
  readonly #git: RunnerGit;
  readonly #private: string;
  readonly #access: GitAccess;
  readonly #owner: AgentUser | undefined;
  /** WORK_DIR's device and inode: a directory put in its place (or a symlink) is not read. */
  readonly #workDirId: string;
  /** The tree the reviewer last saw: exactly what commit() commits. */
  #reviewedTree: string | undefined;

  private constructor(fields: {
    dir: string;
    branch: string;
    baseSha: string;
    git: RunnerGit;
    privateDir: string;
    access: GitAccess;
    owner: AgentUser | undefined;
    workDirId: string;
  }) {
    this.dir = fields.dir;
    this.branch = fields.branch;
    this.baseSha = fields.baseSha;
    this.agentGitEnv = safeDirectoryEnv(fields.dir);
    this.#git = fields.git;
    this.#private = fields.privateDir;
    this.#access = fields.access;
    this.#owner = fields.owner;
    this.#workDirId = fields.workDirId;
  }

  static async clone(options: CloneOptions): Promise<Workspace> {
    const { access, branch, env, owner } = options;
    const dir = await prepareWorkDir(resolve(options.dir), owner);
    const privateParent = await realpath(options.privateDir);
    if (isInside(privateParent, dir)) {
      throw new WorkspaceError(`the runner's private directory ${privateParent} must not be inside WORK_DIR ${dir}`);
    }
    await holdStill(privateParent);
    const workDirId = await identity(dir);
    // 0711: the agent may pass through (to copy the clone below, while no agent command runs), never list it.
    const privateDir = await mkdtemp(join(privateParent, 'anton-git-'));
    try {
      await chmod(privateDir, 0o711);
      const { git, baseSha } = await clonePrivately(privateDir, options);
      await copyForAgent({ gitDir: git.gitDir, dir, env, owner });
      await git.run(['read-tree', 'HEAD']);
      return new Workspace({ dir, branch, baseSha, git, privateDir, access, owner, workDirId });
    } catch (err) {
      await rm(privateDir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Takes the agent's working tree (tracked and untracked files, never `.git`) into the runner's
   * index and returns its diff against the base: the exact bytes commit() will commit.
   */
  async stagedDiff(): Promise<{ patch: string; stat: string }> {
    const tree = await this.#stage();
    this.#reviewedTree = tree;
    const patch = await this.#git.run([...REVIEW_DIFF, this.baseSha, tree]);
    const stat = await this.#git.run(['diff-tree', '-r', '--stat=120', '--no-color', this.baseSha, tree]);
    return { patch, stat };
  }

  /**
   * A file of the base commit, read from the private git (never the agent's working tree): its
   * text when it is a regular file of at most `maxBytes`, else undefined. A symlink is a blob
   * holding its target's name in git, so it is never followed, in or out of the repository.
   */
  async readBaseFile(path: string, maxBytes: number): Promise<string | undefined> {
    const listed = await this.#git.run(['ls-tree', '-z', this.baseSha, '--', path]);
    const [meta, name] = listed.split('\0')[0]?.split('\t') ?? [];
    const [mode, type, object] = meta?.split(' ') ?? [];
    if (name !== path || type !== 'blob' || object === undefined || (mode !== '100644' && mode !== '100755')) {
      return undefined;
    }
    const size = Number((await this.#git.run(['cat-file', '-s', object])).trim());
    if (!(size <= maxBytes)) return undefined;
    return this.#git.run(['cat-file', 'blob', object]);
  }

  /**
   * Commits the reviewed tree (or, unreviewed, the working tree now) as one commit by anton-bot on
   * the base: commits the agent made itself are not in the runner's repository at all.
   */
  async commit(message: string): Promise<string> {
    const tree = this.#reviewedTree ?? (await this.#stage());
    const baseTree = (await this.#git.run(['rev-parse', `${this.baseSha}^{tree}`])).trim();
    if (tree === baseTree) throw new WorkspaceError('nothing to commit: the working tree equals the base');
    const identity = {
      GIT_AUTHOR_NAME: GIT_IDENTITY.name,
      GIT_AUTHOR_EMAIL: GIT_IDENTITY.email,
      GIT_COMMITTER_NAME: GIT_IDENTITY.name,
      GIT_COMMITTER_EMAIL: GIT_IDENTITY.email,
    };
    const sha = (
      await this.#git.run(['commit-tree', '--no-gpg-sign', tree, '-p', this.baseSha, '-m', message], identity)
    ).trim();
    await this.#git.run(['update-ref', `refs/heads/${this.branch}`, sha]);
    return sha;
  }

  /**
   * Pushes the branch, replacing only what is there now (a retried run's earlier push of the same
   * branch): the lease is the remote's current value, read just before.
   */
  async push(): Promise<void> {
    const ref = `refs/heads/${this.branch}`;
    const { transportUrl, remoteEnv } = this.#access;
    const listed = await this.#git.run(['ls-remote', '--', transportUrl, ref], remoteEnv);
    const current = listed.split(/\s/)[0] ?? '';
    // The proxy moves the branch only from the value declared here (GitAccess.pushEnv).
    await this.#git.run(
      ['push', '--quiet', '--no-verify', `--force-with-lease=${ref}:${current}`, '--', transportUrl, `${ref}:${ref}`],
      this.#access.pushEnv(current),
    );
  }

  /**
   * The runner reads the working tree as root. Every file the agent made, or got in its clone, is
   * its uid's; one that is not is a hard link to someone else's file (where the kernel allows
   * that: fs.protected_hardlinks=0), which would otherwise reach the diff, the reviewer and the
   * pull request with root's right to read it. Checked after every agent process is gone.
   */
  async #assertAgentOwnsFiles(owner: AgentUser): Promise<void> {
    const listed = await this.#git.inTree(this.dir, ['ls-files', '-z', '--cached', '--others', '--exclude-standard']);
    for (const path of new Set(listed.split('\0').filter((name) => name !== ''))) {
      // git lists a nested repository as a directory, and would record its commit read from a
      // `.git` the agent wrote (which may point anywhere): files only.
      if (path.endsWith('/')) throw new WorkspaceError(`${path} is a nested git repository; commit its files instead`);
      const info = await lstat(join(this.dir, path)).catch(() => undefined);
      if (info && !info.isDirectory() && info.uid !== owner.uid) {
        throw new WorkspaceError(`${path} in the working tree belongs to uid ${info.uid}, not the agent's`);
      }
    }
  }

  /** Removes the private directory (the agent's working tree stays). */
  async close(): Promise<void> {
    await rm(this.#private, { recursive: true, force: true });
  }

  async #stage(): Promise<string> {
    if ((await identity(this.dir).catch(() => 'gone')) !== this.#workDirId) {
      throw new WorkspaceError(`WORK_DIR ${this.dir} was replaced during the run`);
    }
    if (this.#owner) await this.#assertAgentOwnsFiles(this.#owner);
    await this.#git.inTree(this.dir, ['add', '--all']);
    return (await this.#git.run(['write-tree'])).trim();
  }
}

/**
 * The runner's clone: bare, shallow and blob-filtered, in `<privateDir>/git` (0700), on the branch,
 * with every blob of the base fetched, and configured as the agent's copy of it should be.
 */
async function clonePrivately(
  privateDir: string,
  { access, baseBranch, branch, env, depth }: CloneOptions,
): Promise<{ git: RunnerGit; baseSha: string }> {
  const home = join(privateDir, 'home');
  await mkdir(home, { mode: 0o700 });
  const gitOptions = { gitDir: join(privateDir, 'git'), home, env, scheme: urlScheme(access.transportUrl) };
  const cloneArgs = ['--depth', String(depth ?? 50), '--filter=blob:none', '--single-branch', '--no-tags'];
  await RunnerGit.clone(
    gitOptions,
    [...cloneArgs, '--branch', baseBranch, '--', access.transportUrl],
    access.remoteEnv,
  );
  await chmod(gitOptions.gitDir, 0o700);
  const git = new RunnerGit(gitOptions);
  // A diff that needs every file's content makes git fetch the base's missing blobs in one batch:
  // the agent's copy then has all it checks out, and no later command needs the remote.
  await git.run(['diff', '--shortstat', EMPTY_TREE, 'HEAD'], access.remoteEnv);
  const baseSha = (await git.run(['rev-parse', 'HEAD'])).trim();
  await git.run(['update-ref', `refs/heads/${branch}`, baseSha]);
  await git.run(['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
  // What the agent's copy should say. The runner's own commands name the remote and identity
  // themselves, so none of this changes what they do. The clone recorded the transport URL (the
  // proxy's, in proxy mode): the copy must not.
  for (const [key, value] of [
    ['remote.origin.url', access.publicUrl],
    ['core.bare', 'false'],
    ['user.name', GIT_IDENTITY.name],
    ['user.email', GIT_IDENTITY.email],
    // An empty helper: no credential helper answers the agent's git.
    ['credential.helper', ''],
  ] as const) {
    await git.run(['config', key, value]);
  }
  return { git, baseSha };
}

/**
 * WORK_DIR must be empty and writable by the agent's uid: either the runner creates it and hands
 * it over (a local root runner may chown), or it is already group- or world-writable (a pod's
 * emptyDir: root, the pod's fsGroup, mode 2777; the runner has no CAP_CHOWN there).
 */
async function prepareWorkDir(dir: string, owner: AgentUser | undefined): Promise<string> {
  const created = await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new WorkspaceError(`the work directory ${dir} is not empty`);
  if (owner) {
    const info = await stat(dir);
    const writable =
      info.uid === owner.uid || (info.gid === owner.gid && (info.mode & 0o020) !== 0) || (info.mode & 0o002) !== 0;
    if (created !== undefined || !writable) {
      await chown(dir, owner.uid, owner.gid).catch((err: unknown) => {
        throw new WorkspaceError(
          `WORK_DIR ${dir} is not writable by the agent's uid ${owner.uid} and cannot be given to it: ${(err as Error).message}`,
        );
      });
    }
  }
  return realpath(dir);
}

/**
 * The agent's clone, made by the agent's uid while no agent command runs: a plain copy of the
 * private git directory (opened to it for just this), turned into a checkout on the branch.
 */
async function copyForAgent({
  gitDir,
  dir,
  env,
  owner,
}: {
  gitDir: string;
  dir: string;
  env: Record<string, string>;
  owner: AgentUser | undefined;
}): Promise<void> {
  const as = {
    env: { ...env, HOME: '/nonexistent', ...safeDirectoryEnv(dir) },
    cwd: dir,
    ...(owner ? { user: owner } : {}),
  };
  // git makes some files its user's alone (a pack's .promisor); behind the 0700 directory any mode is private.
  if (owner) await runCommand('chmod', ['-R', 'a+rX', '--', gitDir], { env, cwd: dir });
  try {
    await runCommand('cp', ['-R', '--', gitDir, join(dir, '.git')], as);
  } finally {
    if (owner) await chmod(gitDir, 0o700);
  }
  await runGit(['reset', '--hard', '--quiet'], as);
}

function runCommand(
  file: string,
  args: string[],
  { env, cwd, user }: { env: Record<string, string>; cwd: string; user?: AgentUser },
): Promise<void> {
  return new Promise((done, fail) => {
    execFile(file, args, { env, cwd, ...(user ? { uid: user.uid, gid: user.gid } : {}) }, (error, _out, stderr) =>
      error ? fail(new WorkspaceError(`${file} failed: ${stderr.trim() || error.message}`)) : done(),
    );
  });
}

/**
 * Every directory above the private one must be out of the agent's reach: one it could write
 * without the sticky bit (a pod's /tmp emptyDir is root's, mode 2777) would let it rename the
 * runner's directory away and put its own in the same place. The runner sets the sticky bit on
 * such a directory it owns (then only an entry's owner may rename it) and refuses any other.
 */
async function holdStill(dir: string): Promise<void> {
  const euid = process.geteuid?.();
  for (let current = dir; ; current = dirname(current)) {
    const info = await stat(current);
    if ((info.mode & 0o022) !== 0 && (info.mode & 0o1000) === 0) {
      if (info.uid !== euid) {
        throw new WorkspaceError(
          `RUNNER_STATE_DIR: ${current} is writable by others without the sticky bit, and not the runner's to fix`,
        );
      }
      await chmod(current, (info.mode & 0o7777) | 0o1000);
    }
    if (dirname(current) === current) return;
  }
}

async function identity(path: string): Promise<string> {
  const info = await lstat(path);
  if (!info.isDirectory()) throw new WorkspaceError(`${path} is not a directory`);
  return `${info.dev}:${info.ino}`;
}

function safeDirectoryEnv(dir: string): Record<string, string> {
  return { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'safe.directory', GIT_CONFIG_VALUE_0: dir };
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}
