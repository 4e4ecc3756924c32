import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toModelJsonSchema } from '@anton/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { git, makeTempDir, type TempDir } from '../testing/temp-dir.ts';
import { toolContextAt } from '../testing/tool-context.ts';
import { LIMITS } from './output-limits.ts';
import { CODER_TOOLS, coderTools } from './registry.ts';
import { runTool } from './run-tool.ts';
import type { ToolContext } from './tool.ts';

describe('coder tools', () => {
  let tmp: TempDir;
  let root: string;
  let ctx: ToolContext;
  const call = (name: string, input: unknown) => runTool(CODER_TOOLS, name, input, ctx);

  beforeEach(async () => {
    tmp = await makeTempDir();
    root = join(tmp.path, 'repo');
    await mkdir(join(root, 'src'), { recursive: true });
    await writeFile(
      join(root, 'src', 'pricing.js'),
      'export const rate = 1;\nexport function f(x) {\n  return x * rate;\n}\n',
    );
    await writeFile(join(root, 'src', 'dup.js'), 'x = 1;\ny = 2;\nx = 1;\n');
    await git(root, 'init', '-q', '-b', 'main');
    await git(root, 'add', '-A');
    await git(root, 'commit', '-q', '-m', 'init');
    ctx = await toolContextAt(root, {
      inherited: { PATH: process.env.PATH },
      timeoutMs: 10_000,
      limits: { maxProcesses: 4096, maxFileBytes: 1 << 26, cpuSeconds: 60 },
    });
  });
  afterEach(() => tmp.cleanup());

  it('derives every model-facing schema from its zod schema', () => {
    const names = CODER_TOOLS.map((t) => t.name);
    expect(names).toEqual([
      'list_dir',
      'search',
      'read_file',
      'edit_file',
      'write_file',
      'run_shell_command',
      'git_status',
      'submit_changes',
    ]);
    for (const tool of CODER_TOOLS) {
      expect(toModelJsonSchema(tool.inputSchema).type).toBe('object');
      expect(tool.description.length).toBeGreaterThan(40);
    }
  });

  it('read_file numbers lines and reads a range', async () => {
    const whole = await call('read_file', { path: 'src/pricing.js' });
    expect(whole.output).toContain('3|   return x * rate;');
    const part = await call('read_file', { path: 'src/pricing.js', start_line: 2, end_line: 3 });
    expect(part.output).toContain('(lines 2-3 of 4)');
    expect(part.output).not.toContain('export const rate');
  });

  it('read_file cuts a huge file in the middle with a hint', async () => {
    await writeFile(join(root, 'big.txt'), `${'line\n'.repeat(60_000)}`);
    const result = await call('read_file', { path: 'big.txt' });
    expect(result.output.length).toBeLessThan(LIMITS.readFileChars + 500);
    expect(result.output).toMatch(/characters omitted\. Read a smaller part with start_line\/end_line/);
  });

  it('write_file creates parent directories', async () => {
    const result = await call('write_file', { path: 'src/new/deep/file.js', content: 'hi\n' });
    expect(result.output).toBe('Created src/new/deep/file.js (3 characters)');
    expect(await readFile(join(root, 'src/new/deep/file.js'), 'utf8')).toBe('hi\n');
  });

  it('edit_file replaces one unique snippet', async () => {
    const result = await call('edit_file', { path: 'src/pricing.js', old_text: 'x * rate', new_text: 'x * rate * 2' });
    expect(result.isError).toBeUndefined();
    expect(await readFile(join(root, 'src/pricing.js'), 'utf8')).toContain('return x * rate * 2;');
  });

  it('edit_file explains a missing or ambiguous snippet', async () => {
    const missing = await call('edit_file', { path: 'src/pricing.js', old_text: 'y * rate', new_text: '' });
    expect(missing).toMatchObject({ isError: true });
    expect(missing.output).toMatch(/not found.*copy the snippet exactly/s);
    const twice = await call('edit_file', { path: 'src/dup.js', old_text: 'x = 1;', new_text: 'x = 3;' });
    expect(twice.output).toMatch(/appears 2 times.*line 1.*line 3.*more surrounding lines/s);
    expect(await readFile(join(root, 'src/dup.js'), 'utf8')).toBe('x = 1;\ny = 2;\nx = 1;\n');
  });

  it('list_dir marks directories and caps entries', async () => {
    const root1 = await call('list_dir', {});
    expect(root1.output).toMatch(/^\.\/ \(\d+ entries\)\n\.git\/\nsrc\/$/m);
    await mkdir(join(root, 'many'));
    await Promise.all(Array.from({ length: 520 }, (_, i) => writeFile(join(root, 'many', `f${i}`), '')));
    const many = await call('list_dir', { path: 'many' });
    expect(many.output.split('\n')).toHaveLength(1 + LIMITS.listDirEntries + 1);
    expect(many.output).toContain('[20 more entries not shown');
  });

  it('search finds tracked and new files, and says when nothing matches', async () => {
    await writeFile(join(root, 'src', 'fresh.js'), 'const rate = 2;\n');
    const found = await call('search', { pattern: 'rate\\b', path: 'src' });
    expect(found.output).toContain('src/pricing.js:1:export const rate = 1;');
    expect(found.output).toContain('src/fresh.js:1:const rate = 2;');
    expect((await call('search', { pattern: 'nothing-like-this' })).output).toMatch(/^No matches/);
    expect((await call('search', { pattern: 'x', path: '../' })).output).toMatch(/outside the repository/);
  });

  it('git_status lists changed and new files', async () => {
    expect((await call('git_status', {})).output).toBe('No changes.');
    await writeFile(join(root, 'src', 'pricing.js'), 'changed\n');
    await writeFile(join(root, 'added.js'), '');
    const status = (await call('git_status', {})).output;
    expect(status).toContain(' M src/pricing.js');
    expect(status).toContain('?? added.js');
  });

  it('run_shell_command shows the exit code and records the command', async () => {
    const result = await call('run_shell_command', { command: 'echo hi; exit 4' });
    expect(result.output).toBe('hi\nExit code 4');
    expect(result).toMatchObject({ shell: { command: 'echo hi; exit 4', exitCode: 4, timedOut: false } });
    // A failing command is information for the model, not a failed tool.
    expect(result.isError).toBeUndefined();
  });

  it('run_shell_command takes a per-call timeout_seconds up to SHELL_TIMEOUT_MAX, validated by its schema', async () => {
    const tools = coderTools({ defaultSeconds: 1, maxSeconds: 30 });
    const short = await toolContextAt(root, {
      inherited: { PATH: process.env.PATH },
      timeoutMs: 1_000,
      limits: { maxProcesses: 4096, maxFileBytes: 1 << 26, cpuSeconds: 60 },
    });
    const shell = (input: unknown) => runTool(tools, 'run_shell_command', input, short);
    const tool = tools.find((t) => t.name === 'run_shell_command');
    expect(JSON.stringify(tool && toModelJsonSchema(tool.inputSchema))).toContain(
      '"timeout_seconds":{"description":"Wall-clock limit of this command in seconds (default 1, at most 30)',
    );
    expect(tool?.description).toContain('after 1 s unless timeout_seconds asks for up to 30');

    const tooLong = await shell({ command: 'true', timeout_seconds: 31 });
    expect(tooLong).toMatchObject({ isError: true });
    expect(tooLong.output).toMatch(/^Invalid arguments for run_shell_command: timeout_seconds: /);
    expect((await shell({ command: 'true', timeout_seconds: 0 })).isError).toBe(true);
    expect((await shell({ command: 'true', timeout_seconds: 1.5 })).isError).toBe(true);

    // The default (1 s here) kills a 2 s command; asking for 20 s lets it finish.
    expect(await shell({ command: 'sleep 2; echo done' })).toMatchObject({ shell: { timedOut: true } });
    const longer = await shell({ command: 'sleep 2; echo done', timeout_seconds: 20 });
    expect(longer).toMatchObject({ output: 'done\nExit code 0', shell: { timedOut: false, exitCode: 0 } });
  });

  it('submit_changes ends the session with the summary', async () => {
    const result = await call('submit_changes', { summary: '  Fix the discount formula  ' });
    expect(result.submitted).toEqual({ summary: 'Fix the discount formula' });
  });

  it('turns bad arguments, unknown tools and escapes into errors the model can act on', async () => {
    expect(await call('read_file', { path: 42 })).toMatchObject({ isError: true });
    expect((await call('read_file', {})).output).toMatch(/^Invalid arguments for read_file: path: /);
    expect((await call('delete_everything', {})).output).toMatch(/^Unknown tool "delete_everything"\. Available: /);
    expect((await call('write_file', { path: '../outside', content: 'x' })).output).toMatch(/outside the repository/);
    expect((await call('read_file', { path: 'src/none.js' })).output).toMatch(/does not exist/);
  });

  it('points the model to the right tool for a missing path, a directory or a file', async () => {
    const edit = { path: 'src/none.js', old_text: 'a', new_text: 'b' };
    expect(await call('edit_file', edit)).toEqual({
      output: 'Error: "src/none.js" does not exist; use write_file to create a new file',
      isError: true,
    });
    expect((await call('read_file', { path: 'src' })).output).toBe('Error: "src" is a directory; use list_dir');
    expect((await call('list_dir', { path: 'src/pricing.js' })).output).toBe(
      'Error: "src/pricing.js" is a file; use read_file',
    );
    expect((await call('list_dir', { path: 'none' })).output).toBe('Error: "none" does not exist');
  });

  it('every path tool refuses symlink and .. escapes', async () => {
    await symlink('/etc', join(root, 'etc-link'));
    await symlink('/etc/passwd', join(root, 'passwd-link'));
    const attempts: [string, unknown][] = [
      ['read_file', { path: 'passwd-link' }],
      ['read_file', { path: '../../../../etc/passwd' }],
      ['list_dir', { path: 'etc-link' }],
      ['write_file', { path: 'etc-link/anton', content: 'x' }],
      ['edit_file', { path: 'passwd-link', old_text: 'root', new_text: 'toor' }],
      ['search', { pattern: 'root', path: 'etc-link' }],
    ];
    for (const [name, input] of attempts) {
      const result = await call(name, input);
      expect(result.isError, `${name} ${JSON.stringify(input)}`).toBe(true);
      expect(result.output).toMatch(/outside the repository/);
    }
  });
});
