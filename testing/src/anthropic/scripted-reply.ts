import { estimateTokens } from '../estimate-tokens.ts';
import { compileJsonSchema, schemaMismatch } from '../json-schema-check.ts';
import { ScriptError } from '../scripted-api-fake.ts';
import type { MessagesRequest } from './messages-request.ts';
import { isCustomTool } from './messages-request.ts';

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal';

export type ScriptedBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown>; id?: string };

/** What the fake model answers: its content, and a stop_reason (default: tool_use if it uses a tool, else end_turn). */
export interface ScriptedReply {
  content: ScriptedBlock[];
  stop_reason?: StopReason;
}

/** Checks that a scripted reply is one the real model could give to this request. */
export function checkReply(reply: ScriptedReply, request: MessagesRequest): void {
  if (!Array.isArray(reply?.content)) throw new ScriptError('a scripted reply needs a content array');
  const tools = new Map((request.tools ?? []).filter(isCustomTool).map((tool) => [tool.name, tool]));
  const uses = reply.content.filter((block) => block.type === 'tool_use');
  for (const use of uses) {
    const tool = tools.get(use.name);
    if (!tool) throw new ScriptError(`the reply uses tool '${use.name}', which the request does not offer`);
    if (typeof use.input !== 'object' || use.input === null || Array.isArray(use.input)) {
      throw new ScriptError(`the input of tool '${use.name}' must be an object`);
    }
    // Only strict tools are guaranteed to get schema-valid input; a non-strict tool may get anything.
    if (tool.strict === true) {
      const compiled = compileJsonSchema(tool.input_schema);
      const mismatch = 'validate' in compiled ? schemaMismatch(compiled.validate, use.input) : compiled.error;
      if (mismatch)
        throw new ScriptError(`the input of strict tool '${use.name}' breaks its input_schema: ${mismatch}`);
    }
  }
  const choice = request.tool_choice;
  if (choice?.type === 'none' && uses.length > 0)
    throw new ScriptError('the reply uses a tool but tool_choice is none');
  if ((choice?.type === 'any' || choice?.type === 'tool') && uses.length === 0) {
    throw new ScriptError(`tool_choice ${choice.type} forces a tool use, but the reply uses none`);
  }
  if (choice?.type === 'tool' && uses.some((use) => use.name !== choice.name)) {
    throw new ScriptError(`tool_choice forces tool '${choice.name}', but the reply uses another`);
  }
  if (choice && choice.type !== 'none' && choice.disable_parallel_tool_use === true && uses.length > 1) {
    throw new ScriptError('disable_parallel_tool_use is set, but the reply uses more than one tool');
  }
  const stop = reply.stop_reason;
  if (stop === 'tool_use' && uses.length === 0) throw new ScriptError("stop_reason 'tool_use' needs a tool_use block");
  if (uses.length > 0 && stop !== undefined && stop !== 'tool_use' && stop !== 'max_tokens') {
    throw new ScriptError(`a reply with tool_use blocks cannot stop with '${stop}'`);
  }
}

export interface Ids {
  message(): string;
  toolUse(): string;
}

/** The Message object the API returns for a scripted reply; its input usage is filled in by the cache. */
export function buildMessage(reply: ScriptedReply, request: MessagesRequest, ids: Ids) {
  const content = reply.content.map((block) =>
    block.type === 'text'
      ? { type: 'text' as const, text: block.text, citations: null }
      : {
          type: 'tool_use' as const,
          id: block.id ?? ids.toolUse(),
          name: block.name,
          input: block.input,
          caller: { type: 'direct' as const },
        },
  );
  const hasToolUse = content.some((block) => block.type === 'tool_use');
  const stopReason = reply.stop_reason ?? (hasToolUse ? 'tool_use' : 'end_turn');
  // Even an empty answer costs at least one output token.
  const outputTokens = Math.max(
    1,
    content.reduce((sum, block) => sum + estimateTokens(block), 0),
  );
  if (outputTokens > request.max_tokens && stopReason !== 'max_tokens') {
    throw new ScriptError(
      `the reply needs about ${outputTokens} output tokens but max_tokens is ${request.max_tokens}; raise max_tokens or script stop_reason 'max_tokens'`,
    );
  }
  return {
    id: ids.message(),
    type: 'message' as const,
    role: 'assistant' as const,
    model: request.model,
    content,
    container: null,
    diagnostics: null,
    stop_details: null,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: {
      input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      inference_geo: 'global',
      output_tokens: Math.min(outputTokens, request.max_tokens),
      output_tokens_details: null,
      server_tool_use: null,
      service_tier: 'standard' as const,
      speed: 'standard' as const,
    },
  };
}

export type AnthropicMessage = ReturnType<typeof buildMessage>;
