import type { IncomingHttpHeaders } from 'node:http';
import { compileJsonSchema } from '../json-schema-check.ts';
import type { ChatRequest } from './chat-request.ts';
import { badRequest, OpenAIApiError } from './openai-errors.ts';
import { strictSchemaViolation } from './strict-schema.ts';

const BODY_FIELDS = new Set(
  'messages model audio frequency_penalty function_call functions logit_bias logprobs max_completion_tokens max_tokens metadata modalities moderation n parallel_tool_calls prediction presence_penalty prompt_cache_key prompt_cache_options prompt_cache_retention reasoning_effort response_format safety_identifier seed service_tier stop store stream stream_options temperature tool_choice tools top_logprobs top_p user verbosity web_search_options'.split(
    ' ',
  ),
);
const ROLES = ['system', 'assistant', 'user', 'function', 'tool', 'developer'];
const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Bearer authentication, with OpenAI's 401 bodies for a missing and for a wrong key. */
export function checkAuth(headers: IncomingHttpHeaders, apiKey: string): void {
  const key = /^Bearer (.*)$/i.exec(headers.authorization ?? '')?.[1];
  if (!key) {
    throw new OpenAIApiError(
      401,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.",
    );
  }
  if (key !== apiKey) {
    const shown = key.length > 8 ? `${key.slice(0, 3)}*****${key.slice(-4)}` : key;
    throw new OpenAIApiError(
      401,
      `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      { code: 'invalid_api_key' },
    );
  }
}

/** Checks a Chat Completions body as OpenAI does, returning it typed; throws an OpenAIApiError otherwise. */
export function validateChatRequest(body: unknown, models?: readonly string[]): ChatRequest {
  if (!isObject(body)) {
    throw badRequest(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
    );
  }
  for (const field of Object.keys(body)) {
    if (!BODY_FIELDS.has(field)) throw badRequest(`Unrecognized request argument supplied: ${field}`);
  }
  if (typeof body.model !== 'string' || body.model === '') throw badRequest('you must provide a model parameter');
  if (models && !models.includes(body.model)) {
    throw new OpenAIApiError(404, `The model \`${body.model}\` does not exist or you do not have access to it.`, {
      code: 'model_not_found',
    });
  }
  for (const field of ['max_tokens', 'max_completion_tokens']) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (!Number.isInteger(value) || (value as number) < 1) {
      throw badRequest(
        `Invalid '${field}': integer below minimum value. Expected a value >= 1, but got ${String(value)} instead.`,
        field,
        'integer_below_min_value',
      );
    }
  }
  checkMessages(body.messages);
  const toolNames = checkTools(body.tools);
  checkToolChoice(body.tool_choice, toolNames);
  checkResponseFormat(body.response_format, body.messages as ChatRequest['messages']);
  return body as ChatRequest;
}

function checkMessages(messages: unknown): void {
  if (messages === undefined)
    throw badRequest("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  if (!Array.isArray(messages))
    throw badRequest("Invalid type for 'messages': expected an array.", 'messages', 'invalid_type');
  if (messages.length === 0) {
    throw badRequest(
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'messages',
      'empty_array',
    );
  }
  // The assistant message whose tool calls the following tool messages answer.
  let open: { at: number; ids: string[]; unanswered: Set<string> } | undefined;
  messages.forEach((message, i) => {
    if (!isObject(message))
      throw badRequest(`Invalid type for 'messages[${i}]': expected an object.`, `messages[${i}]`, 'invalid_type');
    if (!ROLES.includes(message.role as string)) {
      throw badRequest(
        `Invalid value: '${String(message.role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
        `messages[${i}].role`,
        'invalid_value',
      );
    }
    const toolCalls = Array.isArray(message.tool_calls) ? (message.tool_calls as { id?: unknown }[]) : [];
    const content = message.content;
    const contentOptional =
      message.role === 'assistant' && (toolCalls.length > 0 || content === null || message.refusal !== undefined);
    if (content === undefined && !contentOptional) {
      throw badRequest(
        `Missing required parameter: 'messages[${i}].content'.`,
        `messages[${i}].content`,
        'missing_required_parameter',
      );
    }
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      throw badRequest(
        `Invalid type for 'messages[${i}].content': expected one of a string or array of objects.`,
        `messages[${i}].content`,
        'invalid_type',
      );
    }
    if (message.role === 'tool') {
      if (typeof message.tool_call_id !== 'string') {
        throw badRequest(
          `Missing required parameter: 'messages[${i}].tool_call_id'.`,
          `messages[${i}].tool_call_id`,
          'missing_required_parameter',
        );
      }
      if (!open?.ids.includes(message.tool_call_id)) {
        throw badRequest(
          "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          `messages.[${i}].role`,
        );
      }
      open.unanswered.delete(message.tool_call_id);
      return;
    }
    if (open && open.unanswered.size > 0) throw unanswered(open.at, [...open.unanswered]);
    const ids = toolCalls.map((call) => String(call.id));
    open = ids.length > 0 ? { at: i, ids, unanswered: new Set(ids) } : undefined;
  });
  if (open && open.unanswered.size > 0) throw unanswered(open.at, [...open.unanswered]);
}

function unanswered(index: number, ids: string[]): OpenAIApiError {
  return badRequest(
    `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${ids.join(', ')}`,
    `messages.[${index}].role`,
  );
}

function checkTools(tools: unknown): string[] {
  if (tools === undefined) return [];
  if (!Array.isArray(tools)) throw badRequest("Invalid type for 'tools': expected an array.", 'tools', 'invalid_type');
  return tools.map((tool, i) => {
    const fn = isObject(tool) ? tool.function : undefined;
    if (!isObject(tool) || tool.type !== 'function' || !isObject(fn)) {
      throw badRequest(
        `Missing required parameter: 'tools[${i}].function'.`,
        `tools[${i}].function`,
        'missing_required_parameter',
      );
    }
    const name = String(fn.name ?? '');
    if (!NAME.test(name)) {
      throw badRequest(
        `Invalid 'tools[${i}].function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`,
        `tools[${i}].function.name`,
        'invalid_value',
      );
    }
    if (fn.parameters !== undefined)
      checkSchema(fn.parameters, fn.strict === true, `function '${name}'`, `tools[${i}].function.parameters`);
    return name;
  });
}

function checkToolChoice(choice: unknown, toolNames: string[]): void {
  if (choice === undefined) return;
  if (toolNames.length === 0) {
    throw badRequest(
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      'tool_choice',
    );
  }
  if (typeof choice === 'string') {
    if (!['none', 'auto', 'required'].includes(choice)) {
      throw badRequest(
        `Invalid value: '${choice}'. Supported values are: 'none', 'auto', and 'required'.`,
        'tool_choice',
        'invalid_value',
      );
    }
    return;
  }
  const name = isObject(choice) && isObject(choice.function) ? choice.function.name : undefined;
  if (!isObject(choice) || choice.type !== 'function' || typeof name !== 'string') {
    throw badRequest(
      "Missing required parameter: 'tool_choice.function.name'.",
      'tool_choice.function.name',
      'missing_required_parameter',
    );
  }
  if (!toolNames.includes(name)) {
    throw badRequest(
      `Invalid value for 'tool_choice': no function named '${name}' was specified in the 'tools' parameter.`,
      'tool_choice',
    );
  }
}

function checkResponseFormat(format: unknown, messages: ChatRequest['messages']): void {
  if (format === undefined) return;
  const type = isObject(format) ? format.type : undefined;
  if (!isObject(format) || !['text', 'json_object', 'json_schema'].includes(type as string)) {
    throw badRequest(
      `Invalid value: '${String(type)}'. Supported values are: 'json_object', 'json_schema', and 'text'.`,
      'response_format.type',
      'invalid_value',
    );
  }
  if (type === 'json_object' && !JSON.stringify(messages).toLowerCase().includes('json')) {
    throw badRequest(
      "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
      'messages',
    );
  }
  if (type !== 'json_schema') return;
  const spec = format.json_schema;
  if (!isObject(spec)) {
    throw badRequest(
      "Missing required parameter: 'response_format.json_schema'.",
      'response_format.json_schema',
      'missing_required_parameter',
    );
  }
  if (typeof spec.name !== 'string' || !NAME.test(spec.name)) {
    throw badRequest(
      "Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.",
      'response_format.json_schema.name',
      'invalid_value',
    );
  }
  if (spec.schema !== undefined)
    checkSchema(spec.schema, spec.strict === true, `response_format '${spec.name}'`, 'response_format');
}

function checkSchema(schema: unknown, strict: boolean, owner: string, param: string): void {
  const compiled = compileJsonSchema(schema);
  if ('error' in compiled) throw badRequest(`Invalid schema for ${owner}: ${compiled.error}`, param);
  const violation = strict ? strictSchemaViolation(schema as Record<string, unknown>) : undefined;
  if (violation) throw badRequest(`Invalid schema for ${owner}: ${violation}`, param);
}
