import type { ShellRunner } from '../shell/run-shell.ts';

/** The runner's own run of the project's tests after a submission: the evidence for review and the PR. */
export interface Verification {
  command: string;
  exitCode: number | null;
  timedOut: boolean;
  /** The last lines of its output (where test runners print their summary). */
  outputTail: string;
}

/** What goes back to the coder of a red run; what the reviewer and the pull request show is shorter. */
export const CODER_TAIL_CHARS = 8_000;
export const EVIDENCE_TAIL_CHARS = 3_000;

export function tail(text: string, max: number): string {
  if (text.length <= max) return text;
  return `[… ${text.length - max} earlier characters not shown …]\n${text.slice(-max)}`;
}

export const passed = (v: Verification): boolean => v.exitCode === 0 && !v.timedOut;

/**
 * bash's exit code for a command it cannot find: the image lacks the tool (a detected `mvn` in an
 * image without Maven), which the coder cannot fix, so it does not refuse the submission.
 */
export const unrunnable = (v: Verification): boolean => v.exitCode === 127 && !v.timedOut;

/**
 * Runs the test command as the agent's commands run (the agent's uid, its environment and limits,
 * through the same shell runner), so a green run here is one the agent could have seen itself.
 */
export async function runVerification(
  shell: ShellRunner,
  command: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Verification> {
  const run = await shell.run(command, signal, timeoutMs);
  return { command, exitCode: run.exitCode, timedOut: run.timedOut, outputTail: tail(run.output, CODER_TAIL_CHARS) };
}

export function outcomeText(v: Verification): string {
  if (v.timedOut) return 'timed out';
  if (unrunnable(v)) return 'could not be run (exit code 127: command not found in this image)';
  return v.exitCode === 0 ? 'passed (exit code 0)' : `failed (exit code ${v.exitCode ?? 'none: killed'})`;
}

/** The result of a submission the runner's test run refused: the coder keeps working in the same round. */
export function redVerificationMessage(v: Verification): string {
  return `Not submitted: the runner ran the project's tests itself, \`${v.command}\`, and they ${outcomeText(v)}. Output (last part):\n${v.outputTail}\n\nFix the failure (or, if the failure has nothing to do with your change, say so in the summary), run the tests again, and call submit_changes again.`;
}

/** A fenced block no output can close. */
export function fenced(text: string): string {
  return `\`\`\`text\n${text.replace(/```/g, "'''")}\n\`\`\``;
}

/** The evidence as the reviewer and the pull request read it. */
export function evidenceText(v: Verification | undefined): string {
  if (!v) return 'No test command was detected or configured, so the runner ran no tests of its own.';
  return `The runner ran \`${v.command}\` after the submission: ${outcomeText(v)}.\n\n${fenced(tail(v.outputTail, EVIDENCE_TAIL_CHARS))}`;
}
