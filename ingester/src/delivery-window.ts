/**
 * Remembers which task each recent delivery became, so a sender's retry of a delivery we already
 * published is answered with the same task id instead of starting a second task. Bounded in size
 * (least recently stored out first) and in age: Jira retries for about half an hour at most.
 */
export class DeliveryWindow {
  readonly #entries = new Map<string, { taskId: Promise<string>; at: number }>();
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;

  constructor({ maxEntries = 10_000, maxAgeMs = 60 * 60_000, now = Date.now } = {}) {
    this.#maxEntries = maxEntries;
    this.#maxAgeMs = maxAgeMs;
    this.#now = now;
  }

  /** The task id of an earlier delivery with this id (still being published, maybe), if any. */
  get(deliveryId: string): Promise<string> | undefined {
    const entry = this.#entries.get(deliveryId);
    if (!entry) return undefined;
    if (this.#now() - entry.at > this.#maxAgeMs) {
      this.#entries.delete(deliveryId);
      return undefined;
    }
    return entry.taskId;
  }

  /** Records the delivery while it is published; forgets it if publishing fails, so a retry can try again. */
  track(deliveryId: string, taskId: Promise<string>): void {
    this.#entries.delete(deliveryId);
    this.#entries.set(deliveryId, { taskId, at: this.#now() });
    taskId.catch(() => {
      if (this.#entries.get(deliveryId)?.taskId === taskId) this.#entries.delete(deliveryId);
    });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(oldest);
    }
  }
}
