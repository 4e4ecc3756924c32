import type { RouterPlan } from '@anton/contracts';
import type {
  AnthropicReplyHandler,
  FakeAnthropic,
  FakeOpenAI,
  MessagesRequest,
  ScriptedCompletion,
  ScriptedReply,
} from '@anton/testing';
import { SAMPLE_FIX } from '@anton/testing';

/** What the scripted router answers: a plan for the sample project. */
export const SCRIPTED_PLAN: RouterPlan = {
  template_id: 'general-research',
  complexity: 'low',
  required_skills: ['javascript', 'node-test'],
  context_summary: 'applyDiscount in src/pricing.js multiplies by the percentage instead of its fraction.',
};

const ROUTE_TOOL = 'route_task';

const use = (name: string, input: Record<string, unknown>): ScriptedReply => ({
  content: [{ type: 'tool_use', name, input }],
});

/** The coder session that fixes the sample project: read, make the one-line fix, run the tests, submit. */
export const SAMPLE_FIX_SESSION: readonly ScriptedReply[] = [
  use('read_file', { path: SAMPLE_FIX.file }),
  use('edit_file', { path: SAMPLE_FIX.file, old_text: SAMPLE_FIX.buggy, new_text: SAMPLE_FIX.fixed }),
  use('run_shell_command', { command: 'node --test' }),
  use('submit_changes', {
    summary:
      'Apply the discount as a percentage\n\napplyDiscount multiplied by the percentage instead of its fraction. node --test passes.',
  }),
];

export interface ScriptedLlmOptions {
  /** The router's plan (default SCRIPTED_PLAN). */
  plan?: RouterPlan;
  /** The coder's replies, one per turn (default SAMPLE_FIX_SESSION). */
  session?: readonly ScriptedReply[];
}

/**
 * One FakeAnthropic handler for both callers: the orchestrator's router (recognized by its forced
 * `route_task` call) gets the plan; a runner's coder gets the reply for its turn, counted from the
 * conversation itself (assistant messages so far), so any number of sessions can run at once.
 */
export function scriptedAnthropic({
  plan = SCRIPTED_PLAN,
  session = SAMPLE_FIX_SESSION,
}: ScriptedLlmOptions = {}): AnthropicReplyHandler {
  return (request: MessagesRequest) => {
    const choice = request.tool_choice;
    if (choice?.type === 'tool' && choice.name === ROUTE_TOOL) return use(ROUTE_TOOL, { ...plan });
    const turn = request.messages.filter((message) => message.role === 'assistant').length;
    const reply = session[Math.min(turn, session.length - 1)];
    if (!reply) throw new Error('the scripted coder session is empty');
    return reply;
  };
}

/** The reviewer's answer: approve, in the verdict shape the runner asks for. */
export function approvingReviewer(reason = 'The fix is correct and the tests pass.'): () => ScriptedCompletion {
  return () => ({ content: JSON.stringify({ approved: true, reason, problems: [] }) });
}

/** Scripts both fakes for the sample fix. */
export function scriptSampleFix(anthropic: FakeAnthropic, openai: FakeOpenAI, options: ScriptedLlmOptions = {}): void {
  anthropic.setHandler(scriptedAnthropic(options));
  openai.setHandler(approvingReviewer());
}
