/**
 * The controllers' pending work. Real controllers act after the API call that triggered them has
 * answered; the fake does the same (on the next turn of the event loop), so clients see the same
 * order of events as on a cluster. `flush()` runs what is pending at once, for control calls that
 * must act on a settled state.
 */
export class WorkQueue {
  #pending: (() => void)[] = [];
  #scheduled = false;
  #timers = new Set<NodeJS.Timeout>();
  #waiters: (() => void)[] = [];
  /** Failures of the fake's own controllers, reported by `settle()` instead of crashing the test run. */
  readonly errors: unknown[] = [];

  later(task: () => void): void {
    this.#pending.push(task);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  after(ms: number, task: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.later(task);
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  flush(): void {
    this.#scheduled = false;
    while (this.#pending.length > 0) {
      const task = this.#pending.shift();
      try {
        task?.();
      } catch (err) {
        this.errors.push(err);
      }
    }
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  /** Resolves once nothing is pending (timers not yet due do not count). */
  async idle(): Promise<void> {
    while (this.#pending.length > 0) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#pending = [];
  }
}
