import { estimateTokens } from '../estimate-tokens.ts';
import { compileJsonSchema, schemaMismatch } from '../json-schema-check.ts';
import { ScriptError } from '../scripted-api-fake.ts';
import type { ChatRequest } from './chat-request.ts';

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * What the fake model answers: text `content` (for a json_schema request, the JSON text), tool
 * calls, or a `refusal`; finish_reason defaults to tool_calls when it calls a tool, else stop.
 */
export interface ScriptedCompletion {
  content?: string | null;
  tool_calls?: { name: string; arguments: Record<string, unknown> | string; id?: string }[];
  refusal?: string;
  finish_reason?: FinishReason;
}

function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

/** Checks that a scripted completion is one the real model could give to this request. */
export function checkCompletion(reply: ScriptedCompletion, request: ChatRequest): void {
  const calls = reply.tool_calls ?? [];
  const content = reply.content ?? null;
  if (content === null && calls.length === 0 && reply.refusal === undefined) {
    throw new ScriptError('a scripted completion needs content, tool_calls or a refusal');
  }
  const tools = new Map((request.tools ?? []).map((tool) => [tool.function.name, tool.function]));
  for (const call of calls) {
    const fn = tools.get(call.name);
    if (!fn) throw new ScriptError(`the completion calls '${call.name}', which the request does not offer`);
    if (fn.strict === true && fn.parameters) {
      const args = typeof call.arguments === 'string' ? parseJson(call.arguments)?.value : call.arguments;
      const compiled = compileJsonSchema(fn.parameters);
      const mismatch = 'validate' in compiled ? schemaMismatch(compiled.validate, args) : compiled.error;
      if (mismatch)
        throw new ScriptError(`the arguments of strict function '${call.name}' break its parameters: ${mismatch}`);
    }
  }
  const choice = request.tool_choice;
  if (choice === 'none' && calls.length > 0)
    throw new ScriptError("tool_choice is 'none' but the completion calls a tool");
  if ((choice === 'required' || typeof choice === 'object') && calls.length === 0) {
    throw new ScriptError('tool_choice forces a tool call, but the completion makes none');
  }
  if (typeof choice === 'object' && calls.some((call) => call.name !== choice.function.name)) {
    throw new ScriptError(`tool_choice forces '${choice.function.name}', but the completion calls another`);
  }
  if (request.parallel_tool_calls === false && calls.length > 1) {
    throw new ScriptError('parallel_tool_calls is false, but the completion makes more than one call');
  }
  checkStructuredContent(content, reply, request);
}

// A truncated (length) answer or a refusal is exempt: the API guarantees the format only for a finished answer.
function checkStructuredContent(content: string | null, reply: ScriptedCompletion, request: ChatRequest): void {
  const format = request.response_format;
  if (content === null || reply.finish_reason === 'length' || format === undefined || format.type === 'text') return;
  const parsed = parseJson(content);
  if (!parsed) throw new ScriptError(`response_format ${format.type} needs JSON content, got: ${content.slice(0, 80)}`);
  if (format.type !== 'json_schema' || format.json_schema.strict !== true || !format.json_schema.schema) return;
  const compiled = compileJsonSchema(format.json_schema.schema);
  const mismatch = 'validate' in compiled ? schemaMismatch(compiled.validate, parsed.value) : compiled.error;
  if (mismatch) {
    throw new ScriptError(`the content breaks the json_schema '${format.json_schema.name}': ${mismatch}`);
  }
}

/** Output tokens by the stated estimate; even an empty answer costs one. */
function completionTokens(content: string | null, toolCalls: unknown[]): number {
  return Math.max(1, estimateTokens(content ?? '') + (toolCalls.length > 0 ? estimateTokens(toolCalls) : 0));
}

export interface CompletionIds {
  completion(): string;
  toolCall(): string;
}

/** The ChatCompletion object OpenAI returns for a scripted completion; usage is filled in by the caller. */
export function buildCompletion(reply: ScriptedCompletion, request: ChatRequest, ids: CompletionIds, created: number) {
  const toolCalls = (reply.tool_calls ?? []).map((call) => ({
    id: call.id ?? ids.toolCall(),
    type: 'function' as const,
    function: {
      name: call.name,
      arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
    },
  }));
  const message = {
    role: 'assistant' as const,
    content: reply.content ?? null,
    refusal: reply.refusal ?? null,
    annotations: [],
    ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
  };
  const used = completionTokens(message.content, toolCalls);
  const limit = request.max_completion_tokens ?? request.max_tokens;
  if (typeof limit === 'number' && used > limit && reply.finish_reason !== 'length') {
    throw new ScriptError(
      `the completion needs about ${used} tokens but the limit is ${limit}; raise it or script finish_reason 'length'`,
    );
  }
  return {
    id: ids.completion(),
    object: 'chat.completion' as const,
    created,
    model: request.model,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: reply.finish_reason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
      },
    ],
    usage: {
      prompt_tokens: 0,
      completion_tokens: typeof limit === 'number' ? Math.min(used, limit) : used,
      total_tokens: 0,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
  };
}

export type ChatCompletion = ReturnType<typeof buildCompletion>;
