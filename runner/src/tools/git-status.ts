import { z } from 'zod';
import { LIMITS, truncateMiddle } from './output-limits.ts';
import { defineTool, ToolError } from './tool.ts';

export const gitStatusTool = defineTool({
  name: 'git_status',
  description:
    'Show which files you have changed, added or deleted so far (git status, short form). Check it before ' +
    'submit_changes to make sure the change contains what you meant and no stray files.',
  inputSchema: z.object({}),
  async execute(_input, { shell, signal }) {
    const run = await shell.git(['status', '--short', '--untracked-files=all'], signal);
    if (run.exitCode !== 0) throw new ToolError(`git status failed: ${run.output.trim().slice(0, 500)}`);
    const output = run.output.trimEnd();
    return {
      output:
        output === ''
          ? 'No changes.'
          : truncateMiddle(output, LIMITS.gitStatusChars, 'Too many changed files: check for build output.'),
    };
  },
});
