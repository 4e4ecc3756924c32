import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ToolError } from './tool.ts';

export type PathAccess = 'read' | 'write';

/**
 * The one check every path from the model goes through. A path is resolved against the repository
 * root, every symlink in it is followed (realpath of the deepest part that exists, for a path about
 * to be created), and the result must lie inside the root: compared with a trailing separator, so
 * `/work/repo-evil` is not inside `/work/repo` (the original compared string prefixes and followed
 * no symlink). Writes into `.git/` are refused too: that is the agent's own clone, for git to change.
 * This check keeps the model in the repository; the file operation itself runs as the agent's uid
 * (agent-files.ts), so a path that changes after the check gains the agent nothing.
 */
export class PathGuard {
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  static async create(root: string): Promise<PathGuard> {
    return new PathGuard(await realpath(root));
  }

  /** Returns the real absolute path for `path`, or throws a ToolError the model can act on. */
  async resolve(path: string, access: PathAccess): Promise<string> {
    if (path.includes('\0')) throw new ToolError('path contains a NUL byte');
    const absolute = isAbsolute(path) ? resolve(path) : resolve(this.root, path);
    const real = await this.#realpathAllowingMissing(absolute, path);
    if (!this.contains(real)) {
      throw new ToolError(
        `path "${path}" is outside the repository; use a path relative to the repository root (e.g. "src/index.ts")`,
      );
    }
    if (access === 'write' && this.#inGitDir(real)) {
      throw new ToolError(`path "${path}" is inside .git/, which the tools may not change`);
    }
    return real;
  }

  /** Whether an already resolved real path is the root or under it. */
  contains(real: string): boolean {
    return real === this.root || real.startsWith(this.root.endsWith(sep) ? this.root : this.root + sep);
  }

  /** The path relative to the root, as the model should see it. */
  display(real: string): string {
    return relative(this.root, real) || '.';
  }

  #inGitDir(real: string): boolean {
    return relative(this.root, real).split(sep)[0] === '.git';
  }

  /**
   * realpath of the deepest existing ancestor, plus the missing tail. A missing component that is
   * itself a dangling symlink is refused: writing through it would create its target, wherever
   * that is.
   */
  async #realpathAllowingMissing(absolute: string, shown: string): Promise<string> {
    const missing: string[] = [];
    let current = absolute;
    for (;;) {
      try {
        const real = await realpath(current);
        return missing.length === 0 ? real : join(real, ...missing.reverse());
      } catch (err) {
        if (!isMissing(err)) throw new ToolError(`cannot resolve "${shown}": ${(err as Error).message}`);
      }
      if (await isSymlink(current)) {
        throw new ToolError(`path "${shown}" goes through a symlink whose target does not exist`);
      }
      const parent = dirname(current);
      if (parent === current) throw new ToolError(`cannot resolve "${shown}"`);
      missing.push(basename(current));
      current = parent;
    }
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function isSymlink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch {
    return false;
  }
}
