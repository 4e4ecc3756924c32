/**
 * Collects a command's output in bounded memory: the first and the last `keepBytes / 2` bytes are
 * kept, everything between is only counted. A command that prints 100 MB costs the same memory as
 * one that prints 256 kB.
 */
export class OutputCollector {
  readonly #half: number;
  #head: Buffer[] = [];
  #headBytes = 0;
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #total = 0;

  constructor(keepBytes: number) {
    this.#half = Math.max(1, Math.floor(keepBytes / 2));
  }

  get totalBytes(): number {
    return this.#total;
  }

  push(chunk: Buffer): void {
    this.#total += chunk.length;
    let rest = chunk;
    if (this.#headBytes < this.#half) {
      const take = rest.subarray(0, this.#half - this.#headBytes);
      this.#head.push(take);
      this.#headBytes += take.length;
      rest = rest.subarray(take.length);
    }
    if (rest.length === 0) return;
    this.#tail.push(rest);
    this.#tailBytes += rest.length;
    // Drop whole chunks from the front while what remains still covers the tail.
    while (this.#tail.length > 1 && this.#tailBytes - (this.#tail[0]?.length ?? 0) >= this.#half) {
      this.#tailBytes -= this.#tail.shift()?.length ?? 0;
    }
  }

  /** The kept output as text, with a marker where bytes were dropped. */
  text(): string {
    const head = Buffer.concat(this.#head).toString('utf8');
    const tailBuffer = Buffer.concat(this.#tail);
    const tail = tailBuffer.subarray(Math.max(0, tailBuffer.length - this.#half));
    const dropped = this.#total - this.#headBytes - tail.length;
    if (dropped <= 0) return head + tail.toString('utf8');
    return `${head}\n[… ${dropped.toLocaleString('en-US')} bytes of output dropped …]\n${tail.toString('utf8')}`;
  }
}
