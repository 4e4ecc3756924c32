export type AcquireResult = 'acquired' | 'timeout' | 'aborted';

/**
 * The MAX_ACTIVE_JOBS cap. What counts is the union of the runners seen running (fed by the Job
 * watch, or by the local dispatcher's children) and the slots this process reserved for runners
 * it is about to start, so a Job is counted from the moment it is decided until the watch reports
 * it finished. Waiters are woken by those reports, never by polling.
 *
 * Across replicas the cap holds up to the watch's delay: two replicas that both see one free
 * slot may both take it. A strict cluster-wide cap would need a lease per slot; an overshoot by
 * (replicas - 1) for a moment is an accepted cost.
 */
export class Capacity {
  readonly #max: number;
  #active = new Set<string>();
  readonly #reserved = new Set<string>();
  #waiters: Array<() => void> = [];
  readonly #onChange: (used: number) => void;

  constructor(max: number, onChange: (used: number) => void = () => {}) {
    this.#max = max;
    this.#onChange = onChange;
  }

  get max(): number {
    return this.#max;
  }

  get used(): number {
    let used = this.#active.size;
    for (const name of this.#reserved) if (!this.#active.has(name)) used += 1;
    return used;
  }

  /**
   * The runners now running, and every runner known in any state: a reservation ends once its
   * runner is known (running, it counts as active; finished, it no longer counts).
   */
  update(active: Iterable<string>, known: Iterable<string> = active): void {
    this.#active = new Set(active);
    for (const name of known) this.#reserved.delete(name);
    this.#changed();
  }

  /**
   * Waits for a free slot and reserves it for `name`. A runner already counted (a redelivered task
   * whose Job exists) needs no new slot.
   */
  async acquire(name: string, { signal, timeoutMs }: { signal?: AbortSignal; timeoutMs?: number } = {}) {
    if (this.#active.has(name) || this.#reserved.has(name)) return 'acquired' as AcquireResult;
    return new Promise<AcquireResult>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (result: AcquireResult) => {
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters = this.#waiters.filter((w) => w !== tryTake);
        resolve(result);
      };
      const tryTake = () => {
        if (done || this.used >= this.#max) return;
        this.#reserved.add(name);
        finish('acquired');
        this.#onChange(this.used);
      };
      const onAbort = () => finish('aborted');
      if (signal?.aborted) return finish('aborted');
      signal?.addEventListener('abort', onAbort);
      if (timeoutMs !== undefined) timer = setTimeout(() => finish('timeout'), timeoutMs);
      this.#waiters.push(tryTake);
      tryTake();
    });
  }

  /** Gives back a reservation whose runner was never started. */
  release(name: string): void {
    if (this.#reserved.delete(name)) this.#changed();
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  #changed(): void {
    this.#onChange(this.used);
    // First come, first served: wake waiters in order while slots are free.
    for (const waiter of [...this.#waiters]) {
      if (this.used >= this.#max) break;
      waiter();
    }
  }
}
