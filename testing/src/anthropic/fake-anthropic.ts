import type { ServerResponse } from 'node:http';
import { estimateTokens } from '../estimate-tokens.ts';
import { type RecordedRequest, sendJson } from '../fake-http-server.ts';
import { ScriptError, ScriptedApiFake, type ScriptedReplyHandler } from '../scripted-api-fake.ts';
import { AnthropicApiError, anthropicFault, invalid, sendAnthropicError } from './anthropic-errors.ts';
import { writeMessageStream } from './message-stream.ts';
import type { MessagesRequest } from './messages-request.ts';
import { type CacheUsage, PromptCache, validateCacheControl } from './prompt-cache.ts';
import { buildMessage, checkReply, type Ids, type ScriptedReply } from './scripted-reply.ts';
import { checkHeaders, validateRequest } from './validate-request.ts';

export { AnthropicApiError, type AnthropicErrorType } from './anthropic-errors.ts';
export type {
  ContentBlockParam as AnthropicContentBlockParam,
  MessageParam as AnthropicMessageParam,
  MessagesRequest,
  ToolChoice as AnthropicToolChoice,
  ToolParam as AnthropicToolParam,
} from './messages-request.ts';
export type { ScriptedBlock, ScriptedReply, StopReason as AnthropicStopReason } from './scripted-reply.ts';

export interface FakeAnthropicOptions {
  /** The key the fake accepts (default: a fixed fake key). */
  apiKey?: string;
  /** Tokens a prefix must reach for a breakpoint to cache it: 1024 by default, as for Claude Sonnet. */
  minCacheableTokens?: number;
  /** Model ids the fake knows; when given, any other model is a 404 as from the API. */
  models?: string[];
  /** The clock of cache lifetimes, in ms; a test can advance it instead of waiting five minutes. */
  now?: () => number;
  /**
   * The model's context window, in estimated tokens (1M by default, as Claude Sonnet 5's): a longer
   * prompt gets the API's 400 "prompt is too long: N tokens > M maximum".
   */
  contextWindowTokens?: number;
}

/** Token usage of one answered request, as the response reported it. */
export interface AnthropicUsageRecord extends CacheUsage {
  model: string;
  output_tokens: number;
}

/** Answers requests once the queue is empty; may throw an AnthropicApiError to answer with that error. */
export type AnthropicReplyHandler = ScriptedReplyHandler<MessagesRequest, ScriptedReply>;

const MESSAGES_PATH = '/v1/messages';
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * A protocol-faithful Anthropic Messages API (`POST /v1/messages`) on 127.0.0.1: give the SDK
 * `baseURL: fake.url` (`ANTHROPIC_BASE_URL`) and `apiKey: fake.apiKey`. It checks requests as the
 * API does (4xx in the API's error shape), answers from a script (`enqueue`, then `setHandler`),
 * reports token usage by the estimate in estimate-tokens.ts with prompt caching emulated
 * (prompt-cache.ts), streams when asked, and injects faults. A script that breaks the request's
 * own contract, or a request with no script left, is a test bug: it is answered with a 500 that
 * names the problem (without inviting a retry) and kept in `failures`.
 */
export class FakeAnthropic extends ScriptedApiFake<MessagesRequest, ScriptedReply> {
  readonly apiKey: string;
  /** One record per answered request, in order. */
  readonly usageLog: AnthropicUsageRecord[] = [];
  readonly #cache: PromptCache;
  readonly #models: string[] | undefined;
  readonly #contextWindow: number;
  readonly #ids: Ids = {
    message: () => `msg_fake${this.nextId()}`,
    toolUse: () => `toolu_fake${this.nextId()}`,
  };

  private constructor(options: FakeAnthropicOptions) {
    super(MESSAGES_PATH, 'reply');
    this.apiKey = options.apiKey ?? 'sk-ant-api03-fake-key';
    this.#models = options.models;
    this.#contextWindow = options.contextWindowTokens ?? 1_000_000;
    this.#cache = new PromptCache(options.minCacheableTokens ?? 1024, options.now ?? Date.now);
  }

  static async start(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
    const fake = new FakeAnthropic(options);
    await fake.listen();
    return fake;
  }

  /** Same records as `usageLog`. */
  get usage(): AnthropicUsageRecord[] {
    return this.usageLog;
  }

  /** The next `times` requests get 529 overloaded_error. */
  overloaded(times = 1): this {
    return this.fault(anthropicFault('overloaded_error', 'Overloaded', this.requestId()), times);
  }

  /** The next `times` requests get 429 rate_limit_error with `retry-after` (seconds, may be fractional). */
  rateLimited(retryAfterSeconds: number, times = 1): this {
    const message =
      'This request would exceed the rate limit for your organization. Please retry after the time in the retry-after header.';
    const fault = anthropicFault('rate_limit_error', message, this.requestId(), {
      'retry-after': String(retryAfterSeconds),
    });
    return this.fault(fault, times);
  }

  /** The next `times` requests get 500 api_error. */
  serverError(times = 1): this {
    return this.fault(anthropicFault('api_error', 'Internal server error', this.requestId()), times);
  }

  /**
   * Input tokens as billed: plain input, plus cache reads and writes at their price multipliers
   * (reads 0.1, 5-minute writes 1.25, 1-hour writes 2), summed over every answered request.
   */
  billedInputTokens({
    cacheReadMultiplier = 0.1,
    cacheWriteMultiplier = 1.25,
    cacheWrite1hMultiplier = 2,
  } = {}): number {
    return this.usageLog.reduce(
      (sum, u) =>
        sum +
        u.input_tokens +
        cacheReadMultiplier * u.cache_read_input_tokens +
        cacheWriteMultiplier * u.cache_creation.ephemeral_5m_input_tokens +
        cacheWrite1hMultiplier * u.cache_creation.ephemeral_1h_input_tokens,
      0,
    );
  }

  /** Forgets every cache entry (as if they all expired). */
  clearCache(): void {
    this.#cache.clear();
  }

  protected override async respond(recorded: RecordedRequest, res: ServerResponse, requestId: string): Promise<void> {
    if (recorded.body.length > MAX_BODY_BYTES) {
      throw new AnthropicApiError('request_too_large', 'Request exceeds the maximum allowed number of bytes.');
    }
    const version = checkHeaders(recorded.headers, this.apiKey);
    if (recorded.json === undefined) throw invalid('There was an error parsing the body: the body is not valid JSON');
    const request = validateRequest(recorded.json, version, this.#models);
    validateCacheControl(request);
    const promptTokens = estimateTokens({ system: request.system, tools: request.tools, messages: request.messages });
    if (promptTokens > this.#contextWindow) {
      throw invalid(`prompt is too long: ${promptTokens} tokens > ${this.#contextWindow} maximum`);
    }
    const message =
      request.max_tokens === 0
        ? this.#warmUp(request)
        : buildMessage(await this.#reply(request, recorded), request, this.#ids);
    Object.assign(message.usage, this.#cache.account(request));
    this.usageLog.push({
      model: request.model,
      input_tokens: message.usage.input_tokens,
      output_tokens: message.usage.output_tokens,
      cache_read_input_tokens: message.usage.cache_read_input_tokens,
      cache_creation_input_tokens: message.usage.cache_creation_input_tokens,
      cache_creation: { ...message.usage.cache_creation },
    });
    if (request.stream) writeMessageStream(res, message, requestId);
    else sendJson(res, 200, message, { 'request-id': requestId });
  }

  protected override sendError(res: ServerResponse, err: unknown, requestId: string): void {
    if (err instanceof ScriptError) {
      const error = new AnthropicApiError('api_error', `FakeAnthropic script error: ${err.message}`);
      sendAnthropicError(res, error, requestId, false);
    } else if (err instanceof AnthropicApiError) {
      sendAnthropicError(res, err, requestId);
    } else {
      throw err;
    }
  }

  protected override notFoundError(): AnthropicApiError {
    return new AnthropicApiError('not_found_error', 'Not Found');
  }

  /** max_tokens 0 only fills the prompt cache: no content, no output, and no script consumed. */
  #warmUp(request: MessagesRequest) {
    const message = buildMessage({ content: [], stop_reason: 'max_tokens' }, request, this.#ids);
    message.usage.output_tokens = 0;
    return message;
  }

  async #reply(request: MessagesRequest, recorded: RecordedRequest): Promise<ScriptedReply> {
    const reply = await this.scriptedReply(request, recorded);
    checkReply(reply, request);
    return reply;
  }
}
