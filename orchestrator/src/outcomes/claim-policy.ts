import type { OutcomeStatus } from '@anton/contracts';
import type { RunnerStatus } from '../dedup.ts';

/**
 * Whether a later event about a finished task's incident may start a new run: only after a
 * failure another run may cure (a crash, an outage, a push refused). A PR opened, nothing to
 * change, a rejection by the reviewer and a run out of time would come out the same again, the
 * last at the highest cost, so those hold the incident until the dedup window ends. This is the one
 * place that decides: the outcome path releases the claim by it, and deduplication reads a
 * holder's recorded outcome through it.
 */
export const allowsRetry = (status: OutcomeStatus): boolean => status === 'failed';

/** How deduplication sees a runner that ended with `status`. */
export const runnerStatusOf = (status: OutcomeStatus): RunnerStatus => (allowsRetry(status) ? 'failed' : 'done');
