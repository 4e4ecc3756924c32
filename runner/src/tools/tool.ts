import type { z } from 'zod';
import type { ShellRunner } from '../shell/run-shell.ts';
import type { AgentFiles } from './agent-files.ts';
import type { PathGuard } from './path-guard.ts';

/** What a tool needs from the outside world: injected, so tests can swap any of it. */
export interface ToolContext {
  guard: PathGuard;
  shell: ShellRunner;
  signal?: AbortSignal;
  /** Every read and write of a file, done as the agent's uid (never the runner's root). */
  files: AgentFiles;
}

/** A shell command the coder ran, kept for the pull request's "tests run" section. */
export interface ShellRecord {
  command: string;
  exitCode: number | null;
  timedOut: boolean;
}

export interface ToolResult {
  /** The text the model sees. */
  output: string;
  isError?: boolean;
  /** Set by submit_changes: the session ends after this turn. */
  submitted?: { summary: string };
  shell?: ShellRecord;
}

export interface Tool<S extends z.ZodType = z.ZodType> {
  name: string;
  /** Teaches the model when to use the tool (and when to prefer another). */
  description: string;
  inputSchema: S;
  execute(input: z.output<S>, ctx: ToolContext): Promise<ToolResult>;
}

/** Erases the input type so tools of different schemas share one registry array. */
export function defineTool<S extends z.ZodType>(tool: Tool<S>): Tool {
  return tool as unknown as Tool;
}

/** A failure the model caused and can fix (bad path, missing snippet): shown to it as text. */
export class ToolError extends Error {
  override name = 'ToolError';
}
