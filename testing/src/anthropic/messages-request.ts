/** The parts of a Messages API request the fake understands (validated before a handler sees it). */
export interface MessagesRequest {
  model: string;
  max_tokens: number;
  messages: MessageParam[];
  system?: string | TextBlockParam[];
  tools?: ToolParam[];
  tool_choice?: ToolChoice;
  stream?: boolean;
  cache_control?: CacheControl | null;
  [key: string]: unknown;
}

export interface MessageParam {
  role: 'user' | 'assistant' | 'system';
  content: string | ContentBlockParam[];
}

/** A content block as sent: `text`, `tool_use`, `tool_result`, `image`, ... */
export interface ContentBlockParam {
  type: string;
  cache_control?: CacheControl | null;
  [key: string]: unknown;
}

export interface TextBlockParam extends ContentBlockParam {
  type: 'text';
  text: string;
}

export interface ToolParam {
  name: string;
  type?: string;
  description?: string;
  input_schema?: { type: 'object'; [key: string]: unknown };
  strict?: boolean;
  cache_control?: CacheControl | null;
  [key: string]: unknown;
}

export type ToolChoice =
  | { type: 'auto'; disable_parallel_tool_use?: boolean }
  | { type: 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

export interface CacheControl {
  type: 'ephemeral';
  ttl?: '5m' | '1h';
}

/** A tool the model itself defines the shape of (as opposed to Anthropic's server tools). */
export function isCustomTool(tool: ToolParam): boolean {
  return tool.type === undefined || tool.type === null || tool.type === 'custom';
}
