import type { OutcomeStatus, TaskOutcome } from '@anton/contracts';

/** What anton did, in a few words after "anton". */
export const OUTCOME_SUMMARY: Record<OutcomeStatus, string> = {
  pr_opened: 'opened a pull request',
  draft_opened: 'opened a draft pull request with unfinished work',
  no_changes: 'found nothing to change',
  rejected: 'gave up: its reviewer rejected every attempt',
  failed: 'could not fix this',
  timed_out: 'ran out of time',
};

/** The outcome as lines of plain text, the same wherever it is posted. */
export function outcomeLines(outcome: TaskOutcome): string[] {
  return [
    `anton ${OUTCOME_SUMMARY[outcome.status]}.`,
    ...(outcome.pr_url !== undefined ? [`Pull request: ${outcome.pr_url}`] : []),
    ...(outcome.reason !== undefined && outcome.status !== 'pr_opened'
      ? [`${outcome.status === 'draft_opened' ? 'Unfinished' : 'Reason'}: ${outcome.reason}`]
      : []),
    `Task ${outcome.task_id}${outcome.template_id ? ` (template ${outcome.template_id})` : ''}.`,
  ];
}
