/**
 * Whether the broker still answers. An open channel says nothing about that: a hung broker (or a
 * network path that stopped forwarding) keeps the socket open while every publish times out. So
 * the channel's owner asks the broker something every `intervalMs` (a passive declare, answered by
 * the broker itself), and counts every confirm as an answer too; it is answering while the last
 * answer is younger than `silenceMs`.
 */
export class BrokerPulse {
  readonly #intervalMs: number;
  readonly #silenceMs: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #lastAnswer = Number.NEGATIVE_INFINITY;
  #asking = false;

  constructor(options: { intervalMs: number; silenceMs: number; now?: () => number }) {
    this.#intervalMs = options.intervalMs;
    this.#silenceMs = options.silenceMs;
    this.#now = options.now ?? Date.now;
  }

  /** Starts asking with `probe` (on a fresh channel); the setup just completed counts as an answer. */
  start(probe: () => Promise<unknown>): void {
    this.stop();
    this.heard();
    this.#timer = setInterval(() => {
      if (this.#asking) return; // still unanswered: that is the point
      this.#asking = true;
      probe().then(
        () => {
          this.#asking = false;
          this.heard();
        },
        () => {
          this.#asking = false;
        },
      );
    }, this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#asking = false;
    this.#lastAnswer = Number.NEGATIVE_INFINITY;
  }

  /** The broker answered (a confirm, a probe). */
  heard(): void {
    this.#lastAnswer = this.#now();
  }

  get answering(): boolean {
    return this.#now() - this.#lastAnswer < this.#silenceMs;
  }
}
