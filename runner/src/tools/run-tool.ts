import { formatIssues } from '@anton/contracts';
import type { Tool, ToolContext, ToolResult } from './tool.ts';
import { ToolError } from './tool.ts';

/**
 * Runs one tool call from the model. Every failure becomes a result the model reads (unknown tool,
 * arguments that do not match the schema, a ToolError, or any other exception), so one bad call
 * never ends the session.
 */
export async function runTool(
  tools: readonly Tool[],
  name: string,
  rawInput: unknown,
  ctx: ToolContext,
): Promise<ToolResult> {
  const tool = tools.find((t) => t.name === name);
  if (!tool) {
    return { output: `Unknown tool "${name}". Available: ${tools.map((t) => t.name).join(', ')}`, isError: true };
  }
  const parsed = tool.inputSchema.safeParse(rawInput ?? {});
  if (!parsed.success) {
    return {
      output: `Invalid arguments for ${name}: ${formatIssues(parsed.error)}. Fix them and call again.`,
      isError: true,
    };
  }
  try {
    return await tool.execute(parsed.data, ctx);
  } catch (err) {
    if (err instanceof ToolError) return { output: `Error: ${err.message}`, isError: true };
    return { output: `Error: ${name} failed: ${(err as Error).message ?? String(err)}`, isError: true };
  }
}
