import { createHash } from 'node:crypto';
import type { AgentTask } from '@anton/contracts';
import { RetryableError } from './errors.ts';

/**
 * The incident a task is about, as a label value (at most 63 characters): the first 63 hex digits
 * of sha256(dedup_key), or of `source:external_id` when the task has no dedup_key.
 */
export function dedupHash(task: Pick<AgentTask, 'dedup_key' | 'source' | 'external_id'>): string {
  const key = task.dedup_key ?? `${task.source}:${task.external_id}`;
  return createHash('sha256').update(key).digest('hex').slice(0, 63);
}

/** A claim on an incident: which task holds it, since when, and a version for conditional removal. */
export interface HeldClaim {
  taskId: string;
  claimedAt: Date;
  version: string;
  /** Its runner was created: a holder missing now ran and was cleaned up (its Job's TTL), not lost. */
  dispatched: boolean;
}

/** Where claims live. `create` must be atomic: of two creators of one hash, exactly one wins. */
export interface ClaimStore {
  create(hash: string, taskId: string): Promise<'created' | 'exists'>;
  read(hash: string): Promise<HeldClaim | undefined>;
  /** Removes the claim only if it is still this version; false when it was not. */
  remove(hash: string, version: string): Promise<boolean>;
  list(): Promise<Array<HeldClaim & { hash: string }>>;
  /** Notes on the claim (this version of it) that its runner exists. */
  markDispatched(hash: string, version: string): Promise<void>;
}

/**
 * Where a task's runner stands for deduplication: running (or ended, its outcome not yet recorded);
 * `done` with an outcome another run would not change (a PR, nothing to change, rejected, timed
 * out); `failed` in a way another run may cure; or not there. `outcomes/claim-policy.ts` decides
 * which outcome is which.
 */
export type RunnerStatus = 'active' | 'done' | 'failed' | 'missing';

export type ClaimResult = { kind: 'claimed' } | { kind: 'duplicate'; heldBy: string; status: RunnerStatus };

const DEFAULT_PENDING_MS = 60 * 60 * 1000;

/**
 * Deduplication across orchestrator replicas, with no database but the cluster itself.
 *
 * Listing Jobs by their `anton.dev/dedup-hash` label and creating one when none is found would let
 * two replicas, each holding a delivery of the same incident, both see nothing and both create.
 * So the incident is claimed first by creating an object whose NAME derives from the hash: the API
 * server accepts exactly one create per name (409 for the other), which makes the claim atomic.
 * The claim names the task that holds it, and lives apart from the Job, because Jobs are deleted
 * 10 minutes after they finish while the dedup window is a day.
 *
 * A held claim makes a task a duplicate while its holder's Job is running, or, within the window,
 * done or not there (still being routed, or done and already cleaned up). A failed holder's
 * claim, or one older than the window, is stale: it is removed (only that version of it, so a
 * replica that replaced it meanwhile keeps its own) and claimed anew. So is a claim whose holder
 * never got its runner (not marked dispatched, no Job) once it is older than `pendingMs`, the
 * longest a task can be on its way to a runner: its task ended without one and its release was
 * lost, and it must not drop later events about the incident. Claims are released when
 * their task is dead-lettered and when its outcome allows a retry (claim-policy.ts), so a later
 * event about the same incident can try again.
 */
export class Deduplicator {
  readonly #store: ClaimStore;
  readonly #status: (taskId: string) => Promise<RunnerStatus>;
  readonly #windowMs: number;
  readonly #pendingMs: number;
  readonly #now: () => number;

  constructor(options: {
    store: ClaimStore;
    status: (taskId: string) => Promise<RunnerStatus>;
    windowMs: number;
    /** How long a task may hold its claim before its runner exists (retries, waits for a slot). */
    pendingMs?: number;
    now?: () => number;
  }) {
    this.#store = options.store;
    this.#status = options.status;
    this.#windowMs = options.windowMs;
    this.#pendingMs = options.pendingMs ?? DEFAULT_PENDING_MS;
    this.#now = options.now ?? Date.now;
  }

  async claim(hash: string, taskId: string): Promise<ClaimResult> {
    if (this.#windowMs === 0) return { kind: 'claimed' };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      if ((await this.#store.create(hash, taskId)) === 'created') return { kind: 'claimed' };
      const held = await this.#store.read(hash);
      if (!held) continue; // released in between: try to create again
      // The same task again: a redelivery, or the retry of a failed attempt.
      if (held.taskId === taskId) return { kind: 'claimed' };
      const status = await this.#status(held.taskId);
      const age = this.#now() - held.claimedAt.getTime();
      const expired = age >= this.#windowMs;
      const abandoned = status === 'missing' && !held.dispatched && age >= this.#pendingMs;
      // A running Job blocks whatever the window; anything but a failure or an abandoned claim blocks within it.
      if (status === 'active' || (!expired && !abandoned && status !== 'failed')) {
        return { kind: 'duplicate', heldBy: held.taskId, status };
      }
      await this.#store.remove(hash, held.version);
    }
    throw new RetryableError(`the deduplication claim ${hash} is contended`);
  }

  /** Notes that `taskId`'s runner exists, if it still holds the claim. */
  async markDispatched(hash: string, taskId: string): Promise<void> {
    if (this.#windowMs === 0) return;
    const held = await this.#store.read(hash);
    if (held?.taskId === taskId && !held.dispatched) await this.#store.markDispatched(hash, held.version);
  }

  /** Gives up the claim if `taskId` still holds it. */
  async release(hash: string, taskId: string): Promise<void> {
    const held = await this.#store.read(hash);
    if (held?.taskId === taskId) await this.#store.remove(hash, held.version);
  }

  /** Removes claims older than the window; returns how many. */
  async sweep(): Promise<number> {
    let removed = 0;
    for (const claim of await this.#store.list()) {
      if (this.#now() - claim.claimedAt.getTime() < this.#windowMs) continue;
      if (await this.#store.remove(claim.hash, claim.version)) removed += 1;
    }
    return removed;
  }
}

/** Claims in this process only: enough for the local dispatcher, which is one process too. */
export class MemoryClaimStore implements ClaimStore {
  readonly #claims = new Map<string, HeldClaim>();
  readonly #now: () => number;
  #versions = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async create(hash: string, taskId: string): Promise<'created' | 'exists'> {
    if (this.#claims.has(hash)) return 'exists';
    this.#versions += 1;
    this.#claims.set(hash, {
      taskId,
      claimedAt: new Date(this.#now()),
      version: String(this.#versions),
      dispatched: false,
    });
    return 'created';
  }

  async read(hash: string): Promise<HeldClaim | undefined> {
    return this.#claims.get(hash);
  }

  async remove(hash: string, version: string): Promise<boolean> {
    if (this.#claims.get(hash)?.version !== version) return false;
    this.#claims.delete(hash);
    return true;
  }

  async markDispatched(hash: string, version: string): Promise<void> {
    const held = this.#claims.get(hash);
    if (held?.version === version) held.dispatched = true;
  }

  async list(): Promise<Array<HeldClaim & { hash: string }>> {
    return [...this.#claims].map(([hash, claim]) => ({ hash, ...claim }));
  }
}
