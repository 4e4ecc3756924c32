import type { Source } from '@anton/contracts';
import type { Pipeline } from '../../src/harness/pipeline.ts';
import { datadogAlert, jiraIssueCreated } from '../../src/harness/sample-webhooks.ts';

/** One incident a sender reports, and what the ingester answered each time it was sent. */
export interface Incident {
  n: number;
  source: Source;
  /** The task's external_id: the Jira issue key or the Datadog event id. */
  externalId: string;
  payload: object;
  /** Every answer, in order; 0 when the request itself failed (connection refused, reset). */
  statuses: number[];
  /** Set by the 202. */
  taskId?: string;
}

/**
 * Posts a new incident every `intervalMs`, alternating Jira and Datadog (each incident its own:
 * its own issue, its own alert cycle), and retries an incident answered 503 (or not answered at
 * all) until it gets a 202, the way Jira and Datadog retry. Requests overlap: the rate holds even
 * while the ingester is slow.
 */
export class SteadySender {
  readonly incidents: Incident[] = [];
  readonly #pipeline: Pipeline;
  readonly #intervalMs: number;
  readonly #retryMs: number;
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #offset: number;

  constructor(pipeline: Pipeline, { intervalMs = 100, retryMs = 300, firstNumber = 1000 } = {}) {
    this.#pipeline = pipeline;
    this.#intervalMs = intervalMs;
    this.#retryMs = retryMs;
    this.#offset = firstNumber;
  }

  start(): void {
    this.#timer = setInterval(() => this.#track(this.#send(this.#next())), this.#intervalMs);
  }

  /** Stops starting new incidents; retries go on until `settle()`. */
  stop(): void {
    clearInterval(this.#timer);
  }

  /** Waits until every incident has its 202 (retrying meanwhile) and nothing is in flight. */
  async settle(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#inFlight.size > 0) {
      if (Date.now() > deadline) {
        const waiting = this.incidents.filter((incident) => !incident.taskId).map((i) => i.externalId);
        throw new Error(`incidents still without a 202 after ${timeoutMs} ms: ${waiting.join(', ')}`);
      }
      await Promise.race([...this.#inFlight, sleep(200)]);
    }
  }

  /** Answers by status, over every attempt. */
  statusCounts(): Record<number, number> {
    const counts: Record<number, number> = {};
    for (const status of this.incidents.flatMap((incident) => incident.statuses)) {
      counts[status] = (counts[status] ?? 0) + 1;
    }
    return counts;
  }

  #next(): Incident {
    const n = this.#offset + this.incidents.length;
    const incident: Incident =
      n % 2 === 0
        ? { n, source: 'jira', externalId: `SHOP-${n}`, payload: jiraIssueCreated(n), statuses: [] }
        : {
            n,
            source: 'datadog',
            externalId: `chaos-${n}`,
            payload: datadogAlert(`chaos-${n}`, { cycle: `chaos-cycle-${n}` }),
            statuses: [],
          };
    this.incidents.push(incident);
    return incident;
  }

  #track(sending: Promise<void>): void {
    this.#inFlight.add(sending);
    void sending.finally(() => this.#inFlight.delete(sending));
  }

  async #send(incident: Incident): Promise<void> {
    for (;;) {
      let status = 0;
      try {
        const reply = await this.#pipeline.postWebhook(incident.source, incident.payload);
        status = reply.status;
        if (status === 202) incident.taskId = String(reply.body.task_id);
      } catch {
        status = 0;
      }
      incident.statuses.push(status);
      if (status !== 503 && status !== 0) return;
      await sleep(this.#retryMs);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
