import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentUser, agentUserFor } from '../shell/agent-user.ts';
import { makeTempDir, type TempDir } from '../testing/temp-dir.ts';
import { toolContextAt } from '../testing/tool-context.ts';
import { CODER_TOOLS } from './registry.ts';
import { runTool } from './run-tool.ts';
import type { ToolContext } from './tool.ts';

const ROOT_ONLY = 'root-only secret 5b1e\n';

/**
 * The runner runs as root; its file tools must not. A symlink swapped between the path check and
 * the file operation (the agent's daemon could do it; here the test does it deterministically,
 * right after the check) must get the agent nothing its own uid could not read or write.
 */
describe('file tools act with the agent uid only', () => {
  let tmp: TempDir;
  let root: string;
  let secret: string;
  let agent: AgentUser;
  let ctx: ToolContext;
  const call = (name: string, input: unknown) => runTool(CODER_TOOLS, name, input, ctx);

  beforeEach(async () => {
    if (process.geteuid?.() !== 0) throw new Error('this test must run as root, as the runner does (and CI)');
    tmp = await makeTempDir();
    await chmod(tmp.path, 0o711);
    root = join(tmp.path, 'repo');
    await mkdir(join(root, 'src'), { recursive: true });
    await writeFile(join(root, 'src', 'a.js'), 'a\n');
    agent = agentUserFor(0) as AgentUser;
    for (const path of [root, join(root, 'src'), join(root, 'src', 'a.js')]) await chown(path, agent.uid, agent.gid);
    secret = join(tmp.path, 'secret');
    await writeFile(secret, ROOT_ONLY, { mode: 0o600 });
    ctx = await toolContextAt(root, {
      inherited: { PATH: process.env.PATH },
      timeoutMs: 10_000,
      limits: { maxProcesses: 256, maxFileBytes: 1 << 26, cpuSeconds: 20 },
      user: agent,
    });
  });
  afterEach(() => tmp.cleanup());

  /** After the guard approved `path`, it becomes a symlink to `target`. */
  function swapAfterCheck(path: string, target: string) {
    const guard = ctx.guard;
    const resolve = guard.resolve.bind(guard);
    ctx = {
      ...ctx,
      guard: Object.assign(Object.create(Object.getPrototypeOf(guard)), guard, {
        root: guard.root,
        resolve: async (p: string, access: 'read' | 'write') => {
          const real = await resolve(p, access);
          await rm(join(root, path), { recursive: true, force: true });
          await symlink(target, join(root, path));
          return real;
        },
      }),
    };
  }

  it('read_file through a symlink swapped after the check does not return a root-only file', async () => {
    swapAfterCheck('src/a.js', secret);
    const result = await call('read_file', { path: 'src/a.js' });
    expect(result.output).not.toContain('root-only secret');
    expect(result).toMatchObject({ isError: true });
    expect(result.output).toMatch(/Permission denied/);
  });

  it('write_file through a symlink swapped after the check does not write a root-only file', async () => {
    swapAfterCheck('src/a.js', secret);
    const result = await call('write_file', { path: 'src/a.js', content: 'overwritten\n' });
    expect(result).toMatchObject({ isError: true });
    expect(await readFile(secret, 'utf8')).toBe(ROOT_ONLY);
  });

  it('edit_file through a symlink swapped after the check neither reads nor writes it', async () => {
    swapAfterCheck('src/a.js', secret);
    const result = await call('edit_file', { path: 'src/a.js', old_text: 'root-only', new_text: 'pwned' });
    expect(result).toMatchObject({ isError: true });
    expect(await readFile(secret, 'utf8')).toBe(ROOT_ONLY);
  });

  it('list_dir through a swapped symlink lists nothing the agent cannot', async () => {
    const closed = join(tmp.path, 'closed');
    await mkdir(join(closed, 'inner-secret-name'), { recursive: true });
    await chmod(closed, 0o700);
    await mkdir(join(root, 'dir'));
    await chown(join(root, 'dir'), agent.uid, agent.gid);
    swapAfterCheck('dir', closed);
    const result = await call('list_dir', { path: 'dir' });
    expect(result.output).not.toContain('inner-secret-name');
  });

  it('write_file creates files and directories owned by the agent', async () => {
    const result = await call('write_file', { path: 'src/new/deep.js', content: 'x\n' });
    expect(result.output).toBe('Created src/new/deep.js (2 characters)');
    const { uid } = await import('node:fs/promises').then((fs) => fs.stat(join(root, 'src', 'new', 'deep.js')));
    expect(uid).toBe(agent.uid);
  });

  it('read_file on a FIFO ends with an error instead of hanging the runner', async () => {
    await promisify(execFile)('mkfifo', [join(root, 'pipe')]);
    await chown(join(root, 'pipe'), agent.uid, agent.gid);
    ctx = await toolContextAt(root, {
      inherited: { PATH: process.env.PATH },
      timeoutMs: 10_000,
      limits: { maxProcesses: 256, maxFileBytes: 1 << 26, cpuSeconds: 20 },
      user: agent,
      fileTimeoutMs: 500,
    });
    const result = await call('read_file', { path: 'pipe' });
    expect(result).toMatchObject({ isError: true });
    expect(result.output).toMatch(/not a regular file|timed out/);
  });

  it('read_file on a 1 GiB sparse file refuses it without reading it into memory', async () => {
    const big = join(root, 'big.bin');
    await writeFile(big, '');
    await truncate(big, 1024 ** 3);
    await chown(big, agent.uid, agent.gid);
    const before = process.memoryUsage().rss;
    const result = await call('read_file', { path: 'big.bin' });
    expect(result).toMatchObject({ isError: true });
    expect(result.output).toMatch(/larger than/);
    // Far less than the file: the tool never holds more than its limit.
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
  });
});
