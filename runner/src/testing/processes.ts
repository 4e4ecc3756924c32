import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The runner package, where both entry points run from (as in the image: /app). */
export const RUNNER_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Node running the TypeScript sources directly: the same entry points as `node dist/…` in the image. */
function node(entry: string, env: Record<string, string>, uid?: number): ChildProcess {
  return spawn(process.execPath, ['--conditions=source', entry], {
    cwd: RUNNER_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
}

export interface ProxyProcess {
  url: string;
  pid: number;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts the credential proxy as its own process (keys only in its environment) on a free port. */
export async function startProxyProcess(env: Record<string, string>): Promise<ProxyProcess> {
  const child = node('src/credential-proxy/main.ts', { PROXY_PORT: '0', ...env });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"port":(\d+).*"msg":"credential proxy listening"/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`credential proxy exited with ${code}: ${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface RunnerRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** stdout's JSON log lines. */
  lines: Record<string, unknown>[];
}

/** Runs the runner's entry point to its end (as `uid`, when given: a runner that is not root). */
export function runRunnerProcess(env: Record<string, string>, { uid }: { uid?: number } = {}): Promise<RunnerRun> {
  const child = node('src/main.ts', env, uid);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => {
      const lines = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ exitCode, stdout, stderr, lines });
    });
  });
}

/** Gone, or a zombie waiting for init to reap it: either way no longer running. */
export async function isDead(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
