import { readFile } from 'node:fs/promises';
import { formatIssues, RunnerContext } from '@anton/contracts';

export type ContextResult = { ok: true; context: RunnerContext } | { ok: false; reason: string };

/**
 * Reads and validates `task.json`: the orchestrator's full form or the original's hand-written
 * one. Anything wrong is a reason naming the file and the field, never an exception.
 */
export async function loadContext(path: string): Promise<ContextResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { ok: false, reason: `cannot read the task context ${path}: ${(err as NodeJS.ErrnoException).code ?? err}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `the task context ${path} is not JSON: ${(err as Error).message}` };
  }
  const parsed = RunnerContext.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `invalid task context ${path}: ${formatIssues(parsed.error)}` };
  return { ok: true, context: parsed.data };
}
