import { ANNOTATIONS, LABELS, type TaskOutcome } from '@anton/contracts';
import type { V1Job } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { RetryableError } from '../errors.ts';
import { isConflict, isNotFound, type KubernetesApi } from '../kubernetes/kubernetes-api.ts';
import { type RetryPolicy, withRetry } from '../kubernetes/with-retry.ts';

/** What became of the write: ours won (report it), another orchestrator's did, or the Job is gone. */
export type RecordResult = 'recorded' | 'recorded-by-another' | 'job-gone';

const MAX_CONFLICTS = 5;
const REASON_LIMIT = 1000;

/** A Job that carries a result was reported by whoever wrote it. */
export const hasOutcome = (job: V1Job): boolean =>
  job.metadata?.annotations?.[ANNOTATIONS.result] !== undefined || job.metadata?.labels?.[LABELS.result] !== undefined;

/**
 * Writes the outcome on the Job (label `anton.dev/result`, for `kubectl get jobs -L`; annotations
 * with the PR URL and the reason) as a patch that applies only to the version of the
 * Job it was decided on. Of several orchestrators deciding one Job, exactly one write wins; the
 * others get 409, read the Job again and find the result there.
 */
export async function recordOutcome(
  api: KubernetesApi,
  job: V1Job,
  outcome: TaskOutcome,
  options: { policy: RetryPolicy; logger: Logger },
): Promise<RecordResult> {
  const name = job.metadata?.name ?? '';
  const retry = { policy: options.policy, logger: options.logger };
  const annotations: Record<string, string> = {
    [ANNOTATIONS.result]: outcome.status,
    ...(outcome.pr_url !== undefined && { [ANNOTATIONS.prUrl]: outcome.pr_url }),
    ...(outcome.reason !== undefined && { [ANNOTATIONS.reason]: shorten(outcome.reason) }),
  };
  let current = job;
  for (let conflicts = 0; conflicts < MAX_CONFLICTS; conflicts += 1) {
    const resourceVersion = current.metadata?.resourceVersion;
    if (!resourceVersion) throw new RetryableError(`Job ${name} has no resourceVersion`);
    try {
      await withRetry(
        'record outcome',
        () => api.patchJobMetadata(name, { resourceVersion, labels: { [LABELS.result]: outcome.status }, annotations }),
        retry,
      );
      return 'recorded';
    } catch (err) {
      if (isNotFound(err)) return 'job-gone';
      if (!isConflict(err)) throw err;
    }
    const latest = await withRetry('read Job', () => api.readJob(name), retry);
    if (!latest) return 'job-gone';
    // Another orchestrator's write won (or, rarely, our own whose answer was lost: not counted then).
    if (hasOutcome(latest)) return 'recorded-by-another';
    current = latest; // changed by something else (its status, the TTL controller): try on this version
  }
  throw new RetryableError(`the outcome of Job ${name} could not be written: it kept changing`);
}

const shorten = (text: string): string => (text.length > REASON_LIMIT ? `${text.slice(0, REASON_LIMIT - 1)}…` : text);
