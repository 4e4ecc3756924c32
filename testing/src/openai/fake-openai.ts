import type { ServerResponse } from 'node:http';
import { type RecordedRequest, sendJson } from '../fake-http-server.ts';
import { ScriptError, ScriptedApiFake, type ScriptedReplyHandler } from '../scripted-api-fake.ts';
import type { ChatRequest } from './chat-request.ts';
import { badRequest, OpenAIApiError, openAIFault, sendOpenAIError } from './openai-errors.ts';
import { ChatPromptCache } from './prompt-cache.ts';
import {
  buildCompletion,
  type CompletionIds,
  checkCompletion,
  type ScriptedCompletion,
} from './scripted-completion.ts';
import { checkAuth, validateChatRequest } from './validate-chat-request.ts';

export type { ChatMessage, ChatRequest, ChatTool, ResponseFormat as ChatResponseFormat } from './chat-request.ts';
export { OpenAIApiError } from './openai-errors.ts';
export type { FinishReason as ChatFinishReason, ScriptedCompletion } from './scripted-completion.ts';

export interface FakeOpenAIOptions {
  /** The key the fake accepts as `Authorization: Bearer` (default: a fixed fake key). */
  apiKey?: string;
  /** Model ids the fake knows (default KNOWN_OPENAI_MODELS); any other model is a 404 model_not_found. */
  models?: string[];
  /** Prompt tokens from which automatic caching applies: 1024 by default, as at OpenAI. */
  minCacheableTokens?: number;
  /** The clock of cache lifetimes, in ms. */
  now?: () => number;
}

/** Token usage of one answered request, as the response reported it. */
export interface OpenAIUsageRecord {
  model: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
}

/** Answers requests once the queue is empty; may throw an OpenAIApiError to answer with that error. */
export type ChatCompletionHandler = ScriptedReplyHandler<ChatRequest, ScriptedCompletion>;

const COMPLETIONS_PATH = '/v1/chat/completions';

/**
 * Chat models the fake knows unless told otherwise. OpenAI answers any other id (a typo, or a
 * snapshot it has shut down) with 404 model_not_found, and so does the fake: it is never kinder.
 */
export const KNOWN_OPENAI_MODELS = [
  'gpt-4o',
  'gpt-4o-2024-08-06',
  'gpt-4o-2024-11-20',
  'gpt-4o-mini',
  'gpt-4.1',
  'gpt-4.1-mini',
  'gpt-5',
  'gpt-5-mini',
  'o3',
  'o4-mini',
];

/**
 * A protocol-faithful OpenAI Chat Completions API (`POST /v1/chat/completions`) on 127.0.0.1.
 * Point the SDK at `fake.baseURL` (that is `fake.url + '/v1'`; `OPENAI_BASE_URL`) with
 * `apiKey: fake.apiKey`. It checks requests as OpenAI does (Bearer auth, messages and tool-call
 * pairing, tools, tool_choice, response_format with json_schema and its strict-mode rules) and
 * answers errors in OpenAI's shape; it answers from a script (`enqueue`, then `setHandler`),
 * reports usage by the estimate in estimate-tokens.ts with automatic prompt caching emulated,
 * and injects faults. Streaming is not emulated (a streaming request is a script failure). A
 * script that breaks the request's contract (e.g. content that does not match a strict
 * json_schema), or a request with no script left, is answered with a 500 naming the problem
 * (without inviting a retry) and kept in `failures`.
 */
export class FakeOpenAI extends ScriptedApiFake<ChatRequest, ScriptedCompletion> {
  readonly apiKey: string;
  readonly usageLog: OpenAIUsageRecord[] = [];
  readonly #cache: ChatPromptCache;
  readonly #models: Set<string>;
  readonly #now: () => number;
  readonly #ids: CompletionIds = {
    completion: () => `chatcmpl-fake${this.nextId()}`,
    toolCall: () => `call_fake${this.nextId()}`,
  };

  private constructor(options: FakeOpenAIOptions) {
    super(COMPLETIONS_PATH, 'completion');
    this.apiKey = options.apiKey ?? 'sk-proj-fake-key';
    this.#models = new Set(options.models ?? KNOWN_OPENAI_MODELS);
    this.#now = options.now ?? Date.now;
    this.#cache = new ChatPromptCache(options.minCacheableTokens ?? 1024, this.#now);
  }

  static async start(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
    const fake = new FakeOpenAI(options);
    await fake.listen();
    return fake;
  }

  /** The SDK's baseURL: `url + '/v1'` (the SDK adds `/chat/completions`). */
  get baseURL(): string {
    return `${this.url}/v1`;
  }

  /** The next `times` requests get 429 rate_limit_exceeded with `retry-after` (seconds, may be fractional). */
  rateLimited(retryAfterSeconds: number, times = 1): this {
    const error = {
      message: 'Rate limit reached for requests. Please try again later.',
      type: 'requests',
      code: 'rate_limit_exceeded',
    };
    return this.fault(openAIFault(429, error, this.requestId(), { 'retry-after': String(retryAfterSeconds) }), times);
  }

  /** The next `times` requests get 500 server_error. */
  serverError(times = 1): this {
    const error = {
      message: 'The server had an error while processing your request. Sorry about that!',
      type: 'server_error',
      code: null,
    };
    return this.fault(openAIFault(500, error, this.requestId()), times);
  }

  /** The next `times` requests get 503, OpenAI's overload answer. */
  overloaded(times = 1): this {
    const error = { message: 'The server is overloaded or not ready yet.', type: 'server_error', code: null };
    return this.fault(openAIFault(503, error, this.requestId()), times);
  }

  /** Shuts a model down, as OpenAI does at a model's retirement date: from now on it is a 404 model_not_found. */
  retire(model: string): this {
    this.#models.delete(model);
    return this;
  }

  clearCache(): void {
    this.#cache.clear();
  }

  protected override async respond(recorded: RecordedRequest, res: ServerResponse, requestId: string): Promise<void> {
    checkAuth(recorded.headers, this.apiKey);
    if (recorded.json === undefined) throw badRequest('We could not parse the JSON body of your request.');
    const request = validateChatRequest(recorded.json, [...this.#models]);
    if (request.stream) throw new ScriptError('FakeOpenAI does not emulate streaming (stream: true)');
    if (typeof request.n === 'number' && request.n !== 1) throw new ScriptError('FakeOpenAI answers n = 1 only');
    const reply = await this.scriptedReply(request, recorded);
    checkCompletion(reply, request);
    const completion = buildCompletion(reply, request, this.#ids, Math.floor(this.#now() / 1000));
    const { prompt_tokens, cached_tokens } = this.#cache.account(request);
    const usage = completion.usage;
    usage.prompt_tokens = prompt_tokens;
    usage.prompt_tokens_details.cached_tokens = cached_tokens;
    usage.total_tokens = prompt_tokens + usage.completion_tokens;
    this.usageLog.push({
      model: request.model,
      prompt_tokens,
      completion_tokens: usage.completion_tokens,
      cached_tokens,
    });
    sendJson(res, 200, completion, { 'x-request-id': requestId, 'openai-processing-ms': '1' });
  }

  protected override sendError(res: ServerResponse, err: unknown, requestId: string): void {
    if (err instanceof ScriptError) {
      const error = new OpenAIApiError(500, `FakeOpenAI script error: ${err.message}`, { type: 'server_error' });
      sendOpenAIError(res, error, requestId, false);
    } else if (err instanceof OpenAIApiError) {
      sendOpenAIError(res, err, requestId);
    } else {
      throw err;
    }
  }

  protected override notFoundError(recorded: RecordedRequest): OpenAIApiError {
    return new OpenAIApiError(404, `Invalid URL (${recorded.method} ${recorded.path})`, {
      type: 'invalid_request_error',
    });
  }
}
