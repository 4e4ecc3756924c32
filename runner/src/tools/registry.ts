import { editFileTool } from './edit-file.ts';
import { gitStatusTool } from './git-status.ts';
import { listDirTool } from './list-dir.ts';
import { readFileTool } from './read-file.ts';
import { runShellCommandTool } from './run-shell-command.ts';
import { searchTool } from './search.ts';
import { submitChangesTool } from './submit-changes.ts';
import type { Tool } from './tool.ts';
import { writeFileTool } from './write-file.ts';

/** The coder's tools, in the order the model is shown them; submit_changes last. */
export const CODER_TOOLS: readonly Tool[] = [
  listDirTool,
  searchTool,
  readFileTool,
  editFileTool,
  writeFileTool,
  runShellCommandTool,
  gitStatusTool,
  submitChangesTool,
];
