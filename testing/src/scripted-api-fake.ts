import type { ServerResponse } from 'node:http';
import { FakeHttpServer, type Fault, type FaultOptions, type RecordedRequest } from './fake-http-server.ts';

/** A script that breaks the request's own contract, or a request nothing was scripted for: a bug in the test. */
export class ScriptError extends Error {
  override name = 'ScriptError';
}

export type ScriptedReplyHandler<Request, Reply> = (
  request: Request,
  recorded: RecordedRequest,
) => Reply | Promise<Reply>;

/**
 * What the fake model APIs (FakeAnthropic, FakeOpenAI) share: one scripted `POST` endpoint on a
 * FakeHttpServer. Replies come from a queue (`enqueue`), then from a handler (`setHandler`). A
 * ScriptError thrown while answering is kept in `failures` and answered as the API's 500 that
 * does not invite a retry (a test bug must be loud, not retried away). Faults are injected on the
 * endpoint, and one counter numbers every id the fake hands out.
 */
export abstract class ScriptedApiFake<Request, Reply> {
  /** Script errors: replies that break the request's contract, or requests nothing was scripted for. */
  readonly failures: string[] = [];
  readonly #server = new FakeHttpServer();
  readonly #path: string;
  /** What a scripted reply is called in failures ('reply', 'completion'). */
  readonly #noun: string;
  #queue: Reply[] = [];
  #handler: ScriptedReplyHandler<Request, Reply> | undefined;
  #counter = 0;

  protected constructor(path: string, noun: string) {
    this.#path = path;
    this.#noun = noun;
    this.#server.route('POST', path, (recorded, res) => this.#answer(recorded, res));
    this.#server.notFound = (recorded, res) => this.sendError(res, this.notFoundError(recorded), this.requestId());
  }

  /** Answers one request on the endpoint (its reply from `scriptedReply`), or throws the API's error or a ScriptError. */
  protected abstract respond(recorded: RecordedRequest, res: ServerResponse, requestId: string): Promise<void>;

  /** Answers `err` in the API's error shape (a ScriptError as a 500 without retry); rethrows anything else. */
  protected abstract sendError(res: ServerResponse, err: unknown, requestId: string): void;

  /** The API's error for a path it does not serve. */
  protected abstract notFoundError(recorded: RecordedRequest): Error;

  /** The server's root URL. */
  get url(): string {
    return this.#server.url;
  }

  get requests(): RecordedRequest[] {
    return this.#server.requests;
  }

  received(path?: string | RegExp, method?: string): RecordedRequest[] {
    return this.#server.received(path, method);
  }

  /** Replies for the next requests, consumed in order before any handler is asked. */
  enqueue(...replies: Reply[]): this {
    this.#queue.push(...replies);
    return this;
  }

  /** Answers requests once the queue is empty. May throw the API's error class to answer with that error. */
  setHandler(handler: ScriptedReplyHandler<Request, Reply>): this {
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

  /** The next `times` requests are answered only after `ms` (a client that gives up first gets nothing). */
  slowAnswer(ms: number, times = 1): this {
    return this.fault({ kind: 'delay', ms }, times);
  }

  /** The next `times` requests have their connection dropped without an answer. */
  dropConnection(times = 1): this {
    return this.fault({ kind: 'drop' }, times);
  }

  close(): Promise<void> {
    return this.#server.close();
  }

  protected async listen(): Promise<void> {
    await this.#server.listen();
  }

  /** Injects `fault` on the scripted endpoint for the next `times` requests. */
  protected fault(fault: Fault, times: number): this {
    return this.inject(fault, { times, method: 'POST', path: this.#path });
  }

  /** The next number of the fake's one id counter, zero-padded. */
  protected nextId(): string {
    this.#counter += 1;
    return String(this.#counter).padStart(16, '0');
  }

  protected requestId(): string {
    return `req_fake${this.nextId()}`;
  }

  /** The next scripted reply: from the queue, else from the handler; none is a ScriptError. */
  protected async scriptedReply(request: Request, recorded: RecordedRequest): Promise<Reply> {
    const reply = this.#queue.shift() ?? (await this.#handler?.(request, recorded));
    if (reply === undefined) {
      throw new ScriptError(`no scripted ${this.#noun} left and no handler set (request ${this.requests.length})`);
    }
    return reply;
  }

  async #answer(recorded: RecordedRequest, res: ServerResponse): Promise<void> {
    const requestId = this.requestId();
    try {
      await this.respond(recorded, res, requestId);
    } catch (err) {
      if (err instanceof ScriptError) this.failures.push(err.message);
      this.sendError(res, err, requestId);
    }
  }
}
