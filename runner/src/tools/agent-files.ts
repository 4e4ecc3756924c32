import { spawn } from 'node:child_process';
import type { AgentUser } from '../shell/agent-user.ts';
import { ToolError } from './tool.ts';

/**
 * The file operations of the coder's tools, each done by a short child process running as the
 * agent's uid (the runner itself is root). The path guard keeps the model inside the repository;
 * this keeps a path swapped after that check (a symlink to a root-only file, a FIFO) from giving
 * the agent more than its own uid could read or write. Every operation has a timeout and reads at
 * most a fixed number of bytes.
 */
export interface AgentFiles {
  /** The file's bytes, or a ToolError (missing, a directory, not a regular file, larger than maxBytes). */
  read(path: string, shown: string, maxBytes: number): Promise<Buffer>;
  /** Writes the whole file (parents created); whether it existed before. */
  write(path: string, shown: string, content: string): Promise<{ existed: boolean }>;
  /** Entries of one directory: name and whether it is a directory (symlinks are not followed). */
  list(path: string, shown: string): Promise<{ name: string; dir: boolean }[]>;
}

export interface AgentFilesOptions {
  /** Unset: the runner's own user (a runner that is not root has no other). */
  user?: AgentUser;
  timeoutMs: number;
  /** PATH and locale for `sh`, `head`, `cat`, `find`. */
  env: Record<string, string>;
}

// Exit codes the scripts use to say what the path is; the tools turn them into hints.
const IS_DIR = 21;
const MISSING = 22;
const NOT_REGULAR = 23;
const NOT_DIR = 24;

const READ = `[ -d "$1" ] && exit ${IS_DIR}; [ -e "$1" ] || exit ${MISSING}; [ -f "$1" ] || exit ${NOT_REGULAR}; exec head -c "$2" -- "$1"`;
const WRITE = `[ -d "$1" ] && exit ${IS_DIR}; e=0; [ -e "$1" ] && e=1; mkdir -p -- "$2" && cat > "$1" && echo $e`;
const LIST = `[ -d "$1" ] || { [ -e "$1" ] && exit ${NOT_DIR}; exit ${MISSING}; }; cd -- "$1" && exec find . -mindepth 1 -maxdepth 1 -printf '%y/%P\\0'`;

/** Bytes of a directory listing kept at most (names beyond are cut). */
const LIST_MAX_BYTES = 4 * 1024 * 1024;

export function agentFiles(options: AgentFilesOptions): AgentFiles {
  return {
    async read(path, shown, maxBytes) {
      const run = await runAs(options, READ, [path, String(maxBytes + 1)], { maxBytes: maxBytes + 1 });
      explain(run, shown, '; use list_dir or search to find the file');
      if (run.stdout.length > maxBytes) {
        throw new ToolError(
          `"${shown}" is larger than ${maxBytes} bytes; find the lines you need with search, or show a part with ` +
            `run_shell_command (e.g. sed -n '100,200p')`,
        );
      }
      return run.stdout;
    },
    async write(path, shown, content) {
      const parent = path.slice(0, path.lastIndexOf('/')) || '/';
      const run = await runAs(options, WRITE, [path, parent], { maxBytes: 16, input: content });
      explain(run, shown);
      return { existed: run.stdout.toString().trim() === '1' };
    },
    async list(path, shown) {
      const run = await runAs(options, LIST, [path], { maxBytes: LIST_MAX_BYTES });
      explain(run, shown);
      return run.stdout
        .toString('utf8')
        .split('\0')
        .filter((entry) => entry.length > 2)
        .map((entry) => ({ name: entry.slice(2), dir: entry[0] === 'd' }));
    },
  };
}

interface Run {
  stdout: Buffer;
  stderr: string;
  exitCode: number | null;
  timedOut: boolean;
}

/** Turns a failed run into the ToolError the model can act on. */
function explain(run: Run, shown: string, missingHint = ''): void {
  if (run.timedOut)
    throw new ToolError(`"${shown}" could not be accessed in time (timed out; is it a pipe or device?)`);
  if (run.exitCode === 0) return;
  if (run.exitCode === IS_DIR) throw new ToolError(`"${shown}" is a directory; use list_dir`);
  if (run.exitCode === MISSING) throw new ToolError(`"${shown}" does not exist${missingHint}`);
  if (run.exitCode === NOT_REGULAR) throw new ToolError(`"${shown}" is not a regular file`);
  if (run.exitCode === NOT_DIR) throw new ToolError(`"${shown}" is a file; use read_file`);
  const said =
    run.stderr
      .trim()
      .split('\n')
      .at(-1)
      ?.replace(/^.*?: /, '') ?? '';
  throw new ToolError(`"${shown}": ${said || `failed (exit code ${run.exitCode})`}`);
}

/** `sh -c script` as the agent's uid, in its own process group, killed on timeout or past maxBytes of output. */
function runAs(
  { user, timeoutMs, env }: AgentFilesOptions,
  script: string,
  args: string[],
  { maxBytes, input }: { maxBytes: number; input?: string },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script, 'anton-file', ...args], {
      env,
      cwd: '/',
      detached: true,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: already gone.
      }
    };
    const chunks: Buffer[] = [];
    let kept = 0;
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (kept >= maxBytes) return;
      chunks.push(chunk.subarray(0, maxBytes - kept));
      kept += Math.min(chunk.length, maxBytes - kept);
      if (kept >= maxBytes) kill();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      // Stopped for having printed enough is a complete read of what we wanted.
      const full = kept >= maxBytes;
      resolve({ stdout: Buffer.concat(chunks), stderr, exitCode: full ? 0 : exitCode, timedOut: timedOut && !full });
    });
    if (input !== undefined) {
      child.stdin?.on('error', () => {});
      child.stdin?.end(input);
    }
  });
}
