import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { type Summary, summarize } from './stats.ts';
import type { SignedWebhook } from './webhooks.ts';

/** Throughput and latency of one load run. Latencies in ms, of successful answers only. */
export interface LoadResult {
  /** Successful answers per second. */
  perSecond: number;
  latency: Summary;
  ok: number;
  /** Non-2xx answers, errors and timeouts. */
  failed: number;
  seconds: number;
}

export interface HttpLoadOptions {
  url: string;
  webhook: SignedWebhook;
  connections: number;
  seconds: number;
}

/**
 * autocannon against `url` with the same signed body on every request, as fast as the
 * connections go. Latencies are taken from its `response` events (sub-millisecond) rather than
 * its integer-millisecond histogram.
 */
export function httpLoad(options: HttpLoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: 'POST',
        headers: options.webhook.headers,
        body: options.webhook.body,
        connections: options.connections,
        duration: options.seconds,
      },
      (err, result) => {
        if (err) return reject(err);
        const ok = result['2xx'];
        resolve({
          perSecond: ok / result.duration,
          latency: summarize(latencies),
          ok,
          failed: result.non2xx + result.errors + result.timeouts,
          seconds: result.duration,
        });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
}

/** Times operations as they complete: latencies of the ones that succeed, a count of the rest. */
function loadRecorder() {
  const latencies: number[] = [];
  let failed = 0;
  const started = performance.now();
  return {
    started,
    async time(operation: () => Promise<unknown>): Promise<void> {
      const t0 = performance.now();
      try {
        await operation();
        latencies.push(performance.now() - t0);
      } catch {
        failed += 1;
      }
    },
    result(): LoadResult {
      const elapsed = (performance.now() - started) / 1000;
      return {
        perSecond: latencies.length / elapsed,
        latency: summarize(latencies),
        ok: latencies.length,
        failed,
        seconds: elapsed,
      };
    },
  };
}

/** `concurrency` workers calling `operation` back to back for `seconds`: the in-process counterpart of autocannon. */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  operation: () => Promise<void>,
): Promise<LoadResult> {
  const recorder = loadRecorder();
  const deadline = recorder.started + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) await recorder.time(operation);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return recorder.result();
}

/**
 * Starts `operation(i)` at a fixed `rate` per second for `count` operations without waiting for
 * earlier ones (open loop: a slow answer does not delay the next request), and waits for all.
 */
export async function paced<T>(rate: number, count: number, operation: (i: number) => Promise<T>): Promise<T[]> {
  const started = performance.now();
  const pending: Promise<T>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(operation(i));
  }
  return Promise.all(pending);
}

/** Open-loop load at `rate`/s for `seconds`, timing each operation. */
export async function pacedLoad(rate: number, seconds: number, operation: () => Promise<void>): Promise<LoadResult> {
  const recorder = loadRecorder();
  await paced(rate, Math.round(rate * seconds), () => recorder.time(operation));
  return recorder.result();
}
