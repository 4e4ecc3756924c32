import type Anthropic from '@anthropic-ai/sdk';
import { addUsage, emptyUsage, type TokenUsage, toModelJsonSchema } from '@anton/contracts';
import { isBudgetExceeded, type RunBudget, usd } from '../run-budget.ts';
import { runTool } from '../tools/run-tool.ts';
import type { ShellRecord, Tool, ToolContext } from '../tools/tool.ts';
import { cachedSystem, withCacheBreakpoints, withToolsBreakpoint } from './cache-breakpoints.ts';
import type { CoderEventHandler } from './events.ts';
import {
  budgetMessage,
  CUT_OFF_MESSAGE,
  lastCallMessage,
  OPENING_MESSAGE,
  REMINDER_MESSAGE,
  rejectionMessage,
} from './system-prompt.ts';

/** Every so many turns the model is told what it has spent. */
export const CHECKPOINT_TURNS = 10;
export const WARNING_FRACTION = 0.8;
/** On "prompt is too long", tool results older than the last few user turns are cleared first. */
export const KEPT_RECENT_TURNS = 3;
export const CLEARED_RESULT =
  '[cleared: an old tool result, removed to fit the context window; run the tool again if you need it]';

/** Kept back from the coder's last call for the review of its submission (the proxy refuses once all is spent). */
export const REVIEW_RESERVE_FRACTION = 0.1;

/** The one call the loop makes: Anthropic's Messages API (the SDK in production, a fake in tests). */
export type CreateMessage = (
  params: Anthropic.MessageCreateParamsNonStreaming,
  options: { signal?: AbortSignal },
) => Promise<Anthropic.Message>;

export interface CoderSessionOptions {
  createMessage: CreateMessage;
  model: string;
  maxTokens: number;
  maxTurns: number;
  systemPrompt: string;
  tools: readonly Tool[];
  toolContext: ToolContext;
  onEvent?: CoderEventHandler;
  signal?: AbortSignal;
  /** The task's spend, shared with the reviewer: checkpoints, and a last call before it runs out. */
  budget?: RunBudget;
  /**
   * Checks a submission before it ends the round (the runner's own test run): a text refuses it,
   * and becomes the submit_changes result the model reads, in the same round.
   */
  verifySubmission?: () => Promise<string | undefined>;
}

/** `budget`: the last call the budget allowed made no submission, or the proxy refused a call. */
export type RoundOutcome = { kind: 'submitted'; summary: string } | { kind: 'turn_limit' } | { kind: 'budget' };

/**
 * One coder conversation across review rounds. Each round is bounded by `maxTurns` model calls and
 * ends only when the model calls submit_changes (or the turns run out): an answer without a tool
 * call earns a reminder, a failing tool a result to read. A rejection continues the same
 * conversation, so the model keeps what it learned and the cached prefix stays valid. With a
 * budget, the model is told its spend every CHECKPOINT_TURNS turns and at 80%, and asked for a last
 * submit_changes when the next call would likely overrun it (or on the round's last turn).
 */
export class CoderSession {
  readonly #options: CoderSessionOptions;
  readonly #tools: Anthropic.Tool[];
  readonly #messages: Anthropic.MessageParam[] = [];
  /** The next user turn's content: tool results of the last turn, then any message for the model. */
  #pending: Anthropic.ContentBlockParam[] = [{ type: 'text', text: OPENING_MESSAGE }];
  #round = 0;
  #turns = 0;
  #usage: TokenUsage = emptyUsage();
  readonly #perTurn: TokenUsage[] = [];
  readonly #shellRecords: ShellRecord[] = [];
  #warned = false;
  #lastCall = false;

  constructor(options: CoderSessionOptions) {
    this.#options = options;
    this.#tools = withToolsBreakpoint(
      options.tools.map((tool) => ({
        name: tool.name,
        description: tool.description,
        input_schema: toModelJsonSchema(tool.inputSchema) as Anthropic.Tool.InputSchema,
      })),
    );
  }

  get turns(): number {
    return this.#turns;
  }

  get usage(): TokenUsage {
    return this.#usage;
  }

  /** Token usage of every model call, in order. */
  get usagePerTurn(): readonly TokenUsage[] {
    return this.#perTurn;
  }

  /** Every shell command the model ran, with its exit code. */
  get shellCommands(): readonly ShellRecord[] {
    return this.#shellRecords;
  }

  /** Sends the reviewer's rejection to the model at the start of the next round. */
  addRejection(reason: string, problems: readonly string[]): void {
    this.#pending.push({ type: 'text', text: rejectionMessage(reason, problems) });
  }

  async runRound(): Promise<RoundOutcome> {
    this.#round += 1;
    const { maxTurns, onEvent } = this.#options;
    for (let turn = 1; turn <= maxTurns; turn++) {
      if (turn === maxTurns && maxTurns > 1 && !this.#lastCall) {
        this.#pending.push({ type: 'text', text: lastCallMessage('turns') });
      }
      this.#messages.push({ role: 'user', content: this.#pending });
      this.#pending = [];
      let response: Anthropic.Message;
      try {
        response = await this.#callWithinContext();
      } catch (err) {
        // The credential proxy's hard cap: no further call can succeed, so the round ends here.
        if (isBudgetExceeded(err)) return { kind: 'budget' };
        throw err;
      }
      this.#turns += 1;
      const usage = usageOf(response.usage);
      this.#usage = addUsage(this.#usage, usage);
      this.#perTurn.push(usage);
      const cost = this.#options.budget?.add(this.#options.model, usage) ?? 0;
      // Cut off at max_tokens: the last tool call may be incomplete (half a file), so none is run, and
      // none is kept (each kept tool_use would need its result).
      const cutOff = response.stop_reason === 'max_tokens';
      const content = assistantContent(response.content).filter((block) => !cutOff || block.type !== 'tool_use');
      this.#messages.push({ role: 'assistant', content: content.length > 0 ? content : [{ type: 'text', text: '…' }] });
      const uses = content.filter((block): block is Anthropic.ToolUseBlockParam => block.type === 'tool_use');
      onEvent?.({
        type: 'turn',
        round: this.#round,
        turn,
        usage,
        stopReason: response.stop_reason,
        toolCalls: uses.length,
      });

      if (cutOff) {
        this.#pending = [{ type: 'text', text: CUT_OFF_MESSAGE }];
      } else if (uses.length === 0) {
        this.#pending = [{ type: 'text', text: REMINDER_MESSAGE }];
        onEvent?.({ type: 'reminder', round: this.#round, turn });
      }
      let submitted: string | undefined;
      let submittedResult: Anthropic.ToolResultBlockParam | undefined;
      for (const use of uses) {
        const started = Date.now();
        const result = await runTool(this.#options.tools, use.name, use.input, this.#options.toolContext);
        if (result.shell) this.#shellRecords.push(result.shell);
        if (result.submitted) submitted = result.submitted.summary;
        const block: Anthropic.ToolResultBlockParam = {
          type: 'tool_result',
          tool_use_id: use.id,
          content: result.output,
          ...(result.isError ? { is_error: true } : {}),
        };
        if (result.submitted) submittedResult = block;
        this.#pending.push(block);
        onEvent?.({
          type: 'tool',
          round: this.#round,
          turn,
          name: use.name,
          isError: result.isError === true,
          ms: Date.now() - started,
          ...(result.shell ? { shell: result.shell } : {}),
        });
      }
      const refused = submitted !== undefined ? await this.#options.verifySubmission?.() : undefined;
      if (refused !== undefined && submittedResult) {
        submittedResult.content = refused;
        submittedResult.is_error = true;
      } else if (submitted !== undefined) {
        onEvent?.({ type: 'submitted', round: this.#round, turn, summary: submitted });
        return { kind: 'submitted', summary: submitted };
      }
      if (this.#lastCall) return { kind: 'budget' };
      this.#noteBudget(turn, maxTurns - turn, cost);
    }
    return { kind: 'turn_limit' };
  }

  /** Adds what the model should know of its budget to the next user turn. */
  #noteBudget(turn: number, turnsLeft: number, lastCost: number): void {
    const { budget, onEvent } = this.#options;
    if (!budget) return;
    const event = (note: 'checkpoint' | 'warning' | 'final') =>
      onEvent?.({
        type: 'budget',
        round: this.#round,
        turn,
        note,
        spentUsd: budget.spentUsd,
        limitUsd: budget.limitUsd,
      });
    // Context only grows, so each next call costs at least about as much as the last one: ask for
    // the submission while that last call and the review still fit.
    if (budget.remainingUsd < lastCost * 2.5 + budget.limitUsd * REVIEW_RESERVE_FRACTION) {
      this.#lastCall = true;
      this.#pending.push({ type: 'text', text: lastCallMessage('budget') });
      event('final');
      return;
    }
    const warning = !this.#warned && budget.spentFraction >= WARNING_FRACTION;
    if (!warning && this.#turns % CHECKPOINT_TURNS !== 0) return;
    if (warning) this.#warned = true;
    this.#pending.push({
      type: 'text',
      text: budgetMessage(usd(budget.spentUsd), usd(budget.limitUsd), turnsLeft, warning),
    });
    event(warning ? 'warning' : 'checkpoint');
  }

  /**
   * A prompt over the context window is not the end: old tool results are cleared (the most recent
   * turns' kept at first, then those too) and the call is retried. Only a prompt that is too long
   * with every tool result cleared fails the run.
   */
  async #callWithinContext(): Promise<Anthropic.Message> {
    const levels = [KEPT_RECENT_TURNS, 0];
    for (;;) {
      try {
        return await this.#call();
      } catch (err) {
        if (!isPromptTooLong(err)) throw err;
        let cleared = 0;
        while (cleared === 0 && levels.length > 0) cleared = this.#clearToolResults(levels.shift() ?? 0);
        if (cleared === 0) throw err;
        this.#options.onEvent?.({ type: 'compacted', round: this.#round, turn: this.#turns + 1 });
      }
    }
  }

  /** Replaces the content of tool results older than the last `keep` user turns; returns how many. */
  #clearToolResults(keep: number): number {
    const users = this.#messages.filter((message) => message.role === 'user');
    const old = new Set(users.slice(0, Math.max(0, users.length - keep)));
    let cleared = 0;
    for (const message of old) {
      if (typeof message.content === 'string') continue;
      for (const block of message.content) {
        if (block.type === 'tool_result' && block.content !== CLEARED_RESULT) {
          block.content = CLEARED_RESULT;
          cleared += 1;
        }
      }
    }
    return cleared;
  }

  #call(): Promise<Anthropic.Message> {
    const { createMessage, model, maxTokens, systemPrompt, signal } = this.#options;
    return createMessage(
      {
        model,
        max_tokens: maxTokens,
        system: cachedSystem(systemPrompt),
        tools: this.#tools,
        messages: withCacheBreakpoints(this.#messages),
      },
      signal ? { signal } : {},
    );
  }
}

/** The assistant's blocks as they must be sent back: text and tool calls (nothing else is enabled). */
function assistantContent(blocks: readonly Anthropic.ContentBlock[]): Anthropic.ContentBlockParam[] {
  return blocks.flatMap((block): Anthropic.ContentBlockParam[] => {
    if (block.type === 'text') return block.text === '' ? [] : [{ type: 'text', text: block.text }];
    if (block.type === 'tool_use') return [{ type: 'tool_use', id: block.id, name: block.name, input: block.input }];
    return [];
  });
}

/** Anthropic's 400 for a prompt over the context window. */
function isPromptTooLong(err: unknown): boolean {
  const e = err as { status?: unknown; message?: unknown; error?: { error?: { message?: unknown } } };
  if (e?.status !== 400) return false;
  return /prompt is too long/i.test(String(e.error?.error?.message ?? e.message ?? ''));
}

function usageOf(usage: Anthropic.Usage): TokenUsage {
  return {
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
  };
}
