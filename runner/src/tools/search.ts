import { z } from 'zod';
import { LIMITS } from './output-limits.ts';
import { defineTool, ToolError } from './tool.ts';

const Input = z.object({
  pattern: z.string().min(1).describe('An extended regular expression (or a plain string with fixed_string)'),
  path: z.string().optional().describe('Only search under this file or directory (relative to the root)'),
  fixed_string: z.boolean().default(false).describe('Treat the pattern as a literal string'),
  ignore_case: z.boolean().default(false),
});

export const searchTool = defineTool({
  name: 'search',
  description:
    'Search file contents of the repository (git grep over tracked and new files, binary files skipped). ' +
    'Returns "path:line:text" for each match. Use it to find where a function, message or setting is ' +
    'defined or used before reading files; narrow with path when there are too many matches.',
  inputSchema: Input,
  async execute({ pattern, path, fixed_string, ignore_case }, { guard, shell, signal }) {
    const args = ['grep', '-n', '-I', '--untracked', '--no-color', fixed_string ? '-F' : '-E'];
    if (ignore_case) args.push('-i');
    args.push('-e', pattern, '--');
    if (path !== undefined) {
      const real = await guard.resolve(path, 'read');
      // `:(literal)` so a name starting with ":" is not read as pathspec magic.
      args.push(`:(literal)${guard.display(real)}`);
    }
    const run = await shell.git(args, signal);
    if (run.exitCode === 1) return { output: `No matches for ${JSON.stringify(pattern)}` };
    if (run.exitCode !== 0) throw new ToolError(`search failed: ${run.output.trim().slice(0, 500)}`);
    const lines = run.output.split('\n').filter((line) => line.length > 0);
    const shown = lines
      .slice(0, LIMITS.searchMatches)
      .map((line) => (line.length > LIMITS.searchLineChars ? `${line.slice(0, LIMITS.searchLineChars)}…` : line));
    const more =
      lines.length > shown.length || run.outputLimitHit
        ? `\n[more than ${shown.length} matches; narrow the pattern or give a path]`
        : '';
    return { output: `${shown.join('\n')}${more}` };
  },
});
