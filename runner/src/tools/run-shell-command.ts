import { z } from 'zod';
import type { ShellRun } from '../shell/run-shell.ts';
import { LIMITS, truncateMiddle } from './output-limits.ts';
import { defineTool } from './tool.ts';

const Input = z.object({
  command: z.string().min(1).describe('A bash command line, run in the repository root'),
});

export const runShellCommandTool = defineTool({
  name: 'run_shell_command',
  description:
    "Run a bash command in the repository root: the project's tests, a build, a script that reproduces the bug. " +
    'Commands time out, run without network credentials, and cannot ask for input. Long output is cut in the ' +
    'middle, so filter it (e.g. `npm test 2>&1 | tail -50`, `grep -n`). Do not use it to read or edit files ' +
    '(read_file / edit_file are cheaper), nor to commit or push: the runner does that after review.',
  inputSchema: Input,
  async execute({ command }, { shell, signal }) {
    const run = await shell.run(command, signal);
    return {
      output: formatShellRun(run, LIMITS.shellOutputChars),
      // A non-zero exit is information (a failing test), not a failed tool; a killed command is.
      ...(run.exitCode === null ? { isError: true } : {}),
      shell: { command, exitCode: run.exitCode, timedOut: run.timedOut },
    };
  },
});

export function formatShellRun(run: ShellRun, maxChars: number): string {
  const output = truncateMiddle(
    run.output,
    maxChars,
    'Narrow the output: pipe through `tail -n 100`, `head`, or `grep`, or write it to a file and search that.',
  );
  const notes: string[] = [];
  if (run.timedOut) notes.push('Command timed out: it and every process it started were killed.');
  if (run.outputLimitHit) notes.push('Command printed too much output and was stopped.');
  if (run.exitCode !== null) notes.push(`Exit code ${run.exitCode}`);
  else notes.push(`Killed by ${run.signal ?? 'a signal'}`);
  return `${output}${output.endsWith('\n') || output === '' ? '' : '\n'}${notes.join('\n')}`;
}
