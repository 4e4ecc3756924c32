import type { ServerResponse } from 'node:http';
import { FakeHttpServer, type Fault, type FaultOptions, type RecordedRequest, sendJson } from '../fake-http-server.ts';
import type { ChatRequest } from './chat-request.ts';
import { badRequest, OpenAIApiError, openAIFault, sendOpenAIError } from './openai-errors.ts';
import { ChatPromptCache } from './prompt-cache.ts';
import {
  buildCompletion,
  type CompletionIds,
  CompletionScriptError,
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
  /** Model ids the fake knows; when given, any other model is a 404 model_not_found. */
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

export type ChatCompletionHandler = (
  request: ChatRequest,
  recorded: RecordedRequest,
) => ScriptedCompletion | Promise<ScriptedCompletion>;

const COMPLETIONS_PATH = '/v1/chat/completions';

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
export class FakeOpenAI {
  readonly apiKey: string;
  readonly usageLog: OpenAIUsageRecord[] = [];
  /** Script errors: completions that break the request's contract, or requests nothing was scripted for. */
  readonly failures: string[] = [];
  readonly #server = new FakeHttpServer();
  readonly #cache: ChatPromptCache;
  readonly #models: string[] | undefined;
  readonly #now: () => number;
  #queue: ScriptedCompletion[] = [];
  #handler: ChatCompletionHandler | undefined;
  #counter = 0;
  readonly #ids: CompletionIds = {
    completion: () => `chatcmpl-fake${this.#next()}`,
    toolCall: () => `call_fake${this.#next()}`,
  };

  private constructor(options: FakeOpenAIOptions) {
    this.apiKey = options.apiKey ?? 'sk-proj-fake-key';
    this.#models = options.models;
    this.#now = options.now ?? Date.now;
    this.#cache = new ChatPromptCache(options.minCacheableTokens ?? 1024, this.#now);
    this.#server.route('POST', COMPLETIONS_PATH, (req, res) => this.#answer(req, res));
    this.#server.notFound = (req, res) =>
      sendOpenAIError(
        res,
        new OpenAIApiError(404, `Invalid URL (${req.method} ${req.path})`, { type: 'invalid_request_error' }),
        this.#requestId(),
      );
  }

  static async start(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
    const fake = new FakeOpenAI(options);
    await fake.#server.listen();
    return fake;
  }

  /** The server's root URL. */
  get url(): string {
    return this.#server.url;
  }

  /** The SDK's baseURL: `url + '/v1'` (the SDK adds `/chat/completions`). */
  get baseURL(): string {
    return `${this.#server.url}/v1`;
  }

  get requests(): RecordedRequest[] {
    return this.#server.requests;
  }

  received(path?: string | RegExp, method?: string): RecordedRequest[] {
    return this.#server.received(path, method);
  }

  /** Completions for the next requests, consumed in order before any handler is asked. */
  enqueue(...replies: ScriptedCompletion[]): this {
    this.#queue.push(...replies);
    return this;
  }

  /** Answers requests once the queue is empty. May throw an OpenAIApiError to answer with that error. */
  setHandler(handler: ChatCompletionHandler): this {
    this.#handler = handler;
    return this;
  }

  inject(fault: Fault, options: FaultOptions = {}): this {
    this.#server.inject(fault, options);
    return this;
  }

  clearFaults(): void {
    this.#server.clearFaults();
  }

  /** The next `times` requests get 429 rate_limit_exceeded with `retry-after` (seconds, may be fractional). */
  rateLimited(retryAfterSeconds: number, times = 1): this {
    const error = {
      message: 'Rate limit reached for requests. Please try again later.',
      type: 'requests',
      code: 'rate_limit_exceeded',
    };
    return this.#fault(openAIFault(429, error, this.#requestId(), { 'retry-after': String(retryAfterSeconds) }), times);
  }

  /** The next `times` requests get 500 server_error. */
  serverError(times = 1): this {
    const error = {
      message: 'The server had an error while processing your request. Sorry about that!',
      type: 'server_error',
      code: null,
    };
    return this.#fault(openAIFault(500, error, this.#requestId()), times);
  }

  /** The next `times` requests get 503, OpenAI's overload answer. */
  overloaded(times = 1): this {
    const error = { message: 'The server is overloaded or not ready yet.', type: 'server_error', code: null };
    return this.#fault(openAIFault(503, error, this.#requestId()), times);
  }

  /** The next `times` requests are answered only after `ms` (a client that gives up first gets nothing). */
  slowAnswer(ms: number, times = 1): this {
    return this.#fault({ kind: 'delay', ms }, times);
  }

  /** The next `times` requests have their connection dropped without an answer. */
  dropConnection(times = 1): this {
    return this.#fault({ kind: 'drop' }, times);
  }

  clearCache(): void {
    this.#cache.clear();
  }

  close(): Promise<void> {
    return this.#server.close();
  }

  #fault(fault: Fault, times: number): this {
    return this.inject(fault, { times, method: 'POST', path: COMPLETIONS_PATH });
  }

  #next(): string {
    this.#counter += 1;
    return String(this.#counter).padStart(16, '0');
  }

  #requestId(): string {
    return `req_fake${this.#next()}`;
  }

  async #answer(recorded: RecordedRequest, res: ServerResponse): Promise<void> {
    const requestId = this.#requestId();
    try {
      checkAuth(recorded.headers, this.apiKey);
      if (recorded.json === undefined) throw badRequest('We could not parse the JSON body of your request.');
      const request = validateChatRequest(recorded.json, this.#models);
      if (request.stream) throw new CompletionScriptError('FakeOpenAI does not emulate streaming (stream: true)');
      if (typeof request.n === 'number' && request.n !== 1)
        throw new CompletionScriptError('FakeOpenAI answers n = 1 only');
      const reply = this.#queue.shift() ?? (await this.#handler?.(request, recorded));
      if (reply === undefined) {
        throw new CompletionScriptError(
          `no scripted completion left and no handler set (request ${this.requests.length})`,
        );
      }
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
    } catch (err) {
      if (err instanceof OpenAIApiError) return sendOpenAIError(res, err, requestId);
      if (!(err instanceof CompletionScriptError)) throw err;
      this.failures.push(err.message);
      const error = new OpenAIApiError(500, `FakeOpenAI script error: ${err.message}`, { type: 'server_error' });
      sendOpenAIError(res, error, requestId, false);
    }
  }
}
