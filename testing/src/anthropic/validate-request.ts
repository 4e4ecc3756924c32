import type { IncomingHttpHeaders } from 'node:http';
import { compileJsonSchema } from '../json-schema-check.ts';
import { AnthropicApiError, invalid } from './anthropic-errors.ts';
import { isCustomTool, type MessagesRequest, type ToolParam } from './messages-request.ts';
import { validateMessages } from './validate-messages.ts';

/** The published `anthropic-version` values; any other value is a 400. */
export const ANTHROPIC_VERSIONS = ['2023-01-01', '2023-06-01', '2026-10-21'] as const;

const BODY_FIELDS = new Set([
  'model',
  'max_tokens',
  'messages',
  'cache_control',
  'container',
  'context_management',
  'diagnostics',
  'inference_geo',
  'metadata',
  'output_config',
  'service_tier',
  'speed',
  'stop_sequences',
  'stream',
  'system',
  'thinking',
  'tool_choice',
  'tools',
]);
// API version 2026-10-21 removed the sampling parameters: sending one, at any value, is a 400.
const SAMPLING_FIELDS = new Set(['temperature', 'top_p', 'top_k']);
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Authentication and version, as the API checks them: `x-api-key`, or else `Authorization: Bearer`
 * (what the 1.x SDKs send); when both are present the API uses `x-api-key`.
 */
export function checkHeaders(headers: IncomingHttpHeaders, apiKey: string): string {
  const bearer = /^Bearer (.+)$/i.exec(header(headers, 'authorization') ?? '')?.[1];
  const presented = header(headers, 'x-api-key') ?? bearer;
  if (presented === undefined) throw new AnthropicApiError('authentication_error', 'x-api-key header is required');
  if (presented !== apiKey) throw new AnthropicApiError('authentication_error', 'invalid x-api-key');
  const version = header(headers, 'anthropic-version');
  if (version === undefined) throw invalid('anthropic-version: header is required');
  if (!(ANTHROPIC_VERSIONS as readonly string[]).includes(version)) {
    throw invalid(`anthropic-version: ${JSON.stringify(version)} is not a valid version`);
  }
  return version;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a request body as the API does, returning it typed; throws an AnthropicApiError otherwise. */
export function validateRequest(body: unknown, version: string, models?: readonly string[]): MessagesRequest {
  if (!isObject(body)) throw invalid('There was an error parsing the body: the body must be a JSON object');
  for (const field of Object.keys(body)) {
    const allowed = BODY_FIELDS.has(field) || (SAMPLING_FIELDS.has(field) && version !== '2026-10-21');
    if (!allowed) throw invalid(`${field}: Extra inputs are not permitted`);
  }
  if (body.model === undefined) throw invalid('model: Field required');
  if (typeof body.model !== 'string' || body.model === '') throw invalid('model: Input should be a valid string');
  if (models && !models.includes(body.model)) throw new AnthropicApiError('not_found_error', `model: ${body.model}`);
  if (body.max_tokens === undefined) throw invalid('max_tokens: Field required');
  // 0 is allowed: it warms the prompt cache without generating anything.
  if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 0) {
    throw invalid('max_tokens: Input should be a valid integer greater than or equal to 0');
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') {
    throw invalid('stream: Input should be a valid boolean');
  }
  validateSystem(body.system);
  const tools = validateTools(body.tools);
  validateToolChoice(body.tool_choice, tools, body.thinking);
  validateMessages(body.messages);
  return body as MessagesRequest;
}

function validateSystem(system: unknown): void {
  if (system === undefined || typeof system === 'string') return;
  if (!Array.isArray(system)) throw invalid('system: Input should be a valid string or a list of text blocks');
  system.forEach((block, i) => {
    if (!isObject(block) || block.type !== 'text') throw invalid(`system.${i}.type: Input should be 'text'`);
    if (typeof block.text !== 'string') throw invalid(`system.${i}.text: Field required`);
    if (block.text.trim() === '') throw invalid('system: text content blocks must contain non-whitespace text');
  });
}

function validateTools(tools: unknown): ToolParam[] {
  if (tools === undefined) return [];
  if (!Array.isArray(tools)) throw invalid('tools: Input should be a valid list');
  const names = new Set<string>();
  tools.forEach((tool, i) => {
    if (!isObject(tool)) throw invalid(`tools.${i}: Input should be a valid dictionary`);
    if (typeof tool.name !== 'string') throw invalid(`tools.${i}.name: Field required`);
    if (names.has(tool.name)) throw invalid('tools: Tool names must be unique.');
    names.add(tool.name);
    if (!isCustomTool(tool as ToolParam)) return;
    if (!TOOL_NAME.test(tool.name)) {
      throw invalid(`tools.${i}.custom.name: String should match pattern '${TOOL_NAME.source}'`);
    }
    if (tool.input_schema === undefined) throw invalid(`tools.${i}.custom.input_schema: Field required`);
    if (!isObject(tool.input_schema) || tool.input_schema.type !== 'object') {
      throw invalid(`tools.${i}.custom.input_schema.type: Input should be 'object'`);
    }
    const compiled = compileJsonSchema(tool.input_schema);
    if ('error' in compiled) {
      throw invalid(
        `tools.${i}.custom.input_schema: JSON schema is invalid - please consult https://json-schema.org or our documentation at https://docs.anthropic.com/en/docs/tool-use (${compiled.error})`,
      );
    }
  });
  return tools as ToolParam[];
}

function validateToolChoice(choice: unknown, tools: ToolParam[], thinking: unknown): void {
  if (choice === undefined) return;
  if (!isObject(choice) || !['auto', 'any', 'tool', 'none'].includes(choice.type as string)) {
    throw invalid(
      "tool_choice.type: Input tag found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'",
    );
  }
  if (choice.disable_parallel_tool_use !== undefined && typeof choice.disable_parallel_tool_use !== 'boolean') {
    throw invalid(`tool_choice.${choice.type}.disable_parallel_tool_use: Input should be a valid boolean`);
  }
  const forced = choice.type === 'any' || choice.type === 'tool';
  if (forced && tools.length === 0)
    throw invalid('tool_choice: tool_choice may only be specified while providing tools.');
  if (choice.type === 'tool') {
    if (typeof choice.name !== 'string') throw invalid('tool_choice.tool.name: Field required');
    if (!tools.some((tool) => tool.name === choice.name)) {
      throw invalid(`tool_choice.tool.name: Tool '${choice.name}' not found in provided tools`);
    }
  }
  if (forced && isObject(thinking) && thinking.type !== 'disabled') {
    throw invalid('Thinking may not be enabled when tool_choice forces tool use.');
  }
}
