import { editFileTool } from './edit-file.ts';
import { gitStatusTool } from './git-status.ts';
import { listDirTool } from './list-dir.ts';
import { readFileTool } from './read-file.ts';
import { DEFAULT_SHELL_TIMEOUT_MAX_SECONDS, runShellCommandTool, type ShellTimeouts } from './run-shell-command.ts';
import { searchTool } from './search.ts';
import { submitChangesTool } from './submit-changes.ts';
import type { Tool } from './tool.ts';
import { writeFileTool } from './write-file.ts';

/** The coder's tools, in the order the model is shown them; submit_changes last. */
export function coderTools(shellTimeouts: ShellTimeouts): readonly Tool[] {
  return [
    listDirTool,
    searchTool,
    readFileTool,
    editFileTool,
    writeFileTool,
    runShellCommandTool(shellTimeouts),
    gitStatusTool,
    submitChangesTool,
  ];
}

/** The tools with the default timeouts (SHELL_TIMEOUT 120 s, SHELL_TIMEOUT_MAX 600 s). */
export const CODER_TOOLS = coderTools({ defaultSeconds: 120, maxSeconds: DEFAULT_SHELL_TIMEOUT_MAX_SECONDS });
