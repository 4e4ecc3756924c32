import { z } from 'zod';
import type { ShellRun } from '../shell/run-shell.ts';
import { LIMITS, truncateMiddle } from './output-limits.ts';
import { defineTool } from './tool.ts';

/** SHELL_TIMEOUT_MAX's default: a cold `mvn test` or `npm ci` takes minutes, more than the 120 s default. */
export const DEFAULT_SHELL_TIMEOUT_MAX_SECONDS = 600;

export interface ShellTimeouts {
  /** SHELL_TIMEOUT: a command's limit unless it asks for another. */
  defaultSeconds: number;
  /** SHELL_TIMEOUT_MAX: the most `timeout_seconds` may ask for. */
  maxSeconds: number;
}

/** run_shell_command with its timeouts: the schema refuses a `timeout_seconds` above the maximum. */
export function runShellCommandTool({ defaultSeconds, maxSeconds }: ShellTimeouts) {
  const Input = z.object({
    command: z.string().min(1).describe('A bash command line, run in the repository root'),
    timeout_seconds: z
      .number()
      .int()
      .min(1)
      .max(maxSeconds)
      .optional()
      .describe(
        `Wall-clock limit of this command in seconds (default ${defaultSeconds}, at most ${maxSeconds}); ask for more for a cold build or a full test suite`,
      ),
  });
  return defineTool({
    name: 'run_shell_command',
    description:
      "Run a bash command in the repository root: the project's tests, a build, a script that reproduces the bug. " +
      `Commands time out (after ${defaultSeconds} s unless timeout_seconds asks for up to ${maxSeconds}), run without network credentials, and cannot ask for input. Long output is cut in the ` +
      'middle, so filter it (e.g. `npm test 2>&1 | tail -50`, `grep -n`). Do not use it to read or edit files ' +
      '(read_file / edit_file are cheaper), nor to commit or push: the runner does that after review.',
    inputSchema: Input,
    async execute({ command, timeout_seconds }, { shell, signal }) {
      const run = await shell.run(command, signal, timeout_seconds === undefined ? undefined : timeout_seconds * 1000);
      return {
        output: formatShellRun(run, LIMITS.shellOutputChars),
        // A non-zero exit is information (a failing test), not a failed tool; a killed command is.
        ...(run.exitCode === null ? { isError: true } : {}),
        shell: { command, exitCode: run.exitCode, timedOut: run.timedOut },
      };
    },
  });
}

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
