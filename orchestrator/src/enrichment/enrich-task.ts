import { AgentTask, type Source } from '@anton/contracts';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import type { Enricher } from './enricher.ts';
import { cutMiddle } from './text-budget.ts';

export interface EnrichmentSettings {
  /** Per source and task: the API calls together must finish within this. */
  timeoutMs: number;
  /** Characters of enrichment text added to the description at most (head and tail kept). */
  maxChars: number;
}

/** `signal`: the orchestrator is stopping; the step ends at once (the task is requeued as it came). */
export type EnrichTask = (task: AgentTask, logger: Logger, signal?: AbortSignal) => Promise<AgentTask>;

export type EnrichmentResult = 'enriched' | 'empty' | 'error' | 'timeout' | 'skipped';

/**
 * The enrichment step: the task's source's enricher (if one is configured) adds what its API knows
 * to the description, within a time and size budget. It never fails the task: an error or a
 * timeout is logged and counted, and the task goes on as it came.
 */
export function createEnrichment(
  enrichers: readonly Enricher[],
  settings: EnrichmentSettings,
  metrics: Metrics,
): EnrichTask {
  const bySource = new Map<Source, Enricher>(enrichers.map((e) => [e.source, e]));
  return async (task, logger, stopping) => {
    const enricher = bySource.get(task.source);
    const count = (result: EnrichmentResult) => metrics.enrichment.inc({ source: task.source, result });
    if (!enricher) {
      count('skipped');
      return task;
    }
    const timeout = AbortSignal.timeout(settings.timeoutMs);
    const signal = stopping ? AbortSignal.any([timeout, stopping]) : timeout;
    try {
      const found = await raceSignal(enricher.enrich(task, signal), signal);
      if (!found || found.text.trim() === '') {
        count('empty');
        return task;
      }
      const section = `## ${enricher.heading} (fetched by anton from the source's API)\n${cutMiddle(found.text.trim(), settings.maxChars)}`;
      // What an API answered is checked like any task field: a bad branch or commit is dropped, not trusted.
      const baseBranch = AgentTask.shape.base_branch.safeParse(found.baseBranch);
      const deployedCommit = AgentTask.shape.deployed_commit.safeParse(found.deployedCommit);
      count('enriched');
      logger.info({ source: task.source, chars: section.length }, 'task enriched');
      return {
        ...task,
        description: [task.description, section].filter(Boolean).join('\n\n'),
        ...(baseBranch.success && baseBranch.data !== undefined && { base_branch: baseBranch.data }),
        ...(deployedCommit.success && deployedCommit.data !== undefined && { deployed_commit: deployedCommit.data }),
      };
    } catch (err) {
      const timedOut = timeout.aborted;
      count(timedOut ? 'timeout' : 'error');
      logger.warn(
        { source: task.source, err: timedOut ? undefined : errorSummary(err), timeout_ms: settings.timeoutMs },
        timedOut
          ? 'enrichment timed out: the task goes on without it'
          : 'enrichment failed: the task goes on without it',
      );
      return task;
    }
  };
}

/** Whatever the enricher does with the signal, the step ends when it fires. */
function raceSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const aborted = () => reject(signal.reason);
    if (signal.aborted) return aborted();
    signal.addEventListener('abort', aborted, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', aborted));
  });
}

/** Name and message only: an error's other fields (a fetch cause's request) are not logged. */
function errorSummary(err: unknown): { type: string; message: string } {
  return err instanceof Error ? { type: err.name, message: err.message } : { type: 'unknown', message: String(err) };
}
