import type { OutcomeStatus } from '@anton/contracts';
import type { FinishedTask } from '../outcomes/finished-task.ts';
import { OUTCOME_SUMMARY, outcomeLines } from './outcome-words.ts';
import type { Delivery, Reporter } from './reporter.ts';
import { sendJson } from './send-json.ts';

export interface DatadogReporterConfig {
  /** `https://api.<DATADOG_SITE>`, or DATADOG_API_URL. */
  apiUrl: string;
  apiKey: string;
}

/** How the event shows in Datadog's event stream. */
const ALERT_TYPE: Record<OutcomeStatus, 'success' | 'info' | 'warning' | 'error'> = {
  pr_opened: 'success',
  draft_opened: 'info',
  no_changes: 'info',
  rejected: 'warning',
  failed: 'error',
  timed_out: 'error',
};

// The Events API's documented limits.
const TITLE_LIMIT = 100;
const TEXT_LIMIT = 4000;
const TAG_LIMIT = 200;
const MARKDOWN_OPEN = '%%% \n';
const MARKDOWN_CLOSE = '\n %%%';

/**
 * Posts an event to Datadog's Events API v1 (`POST /api/v1/events`, `DD-API-KEY`) for a task that
 * came from a Datadog monitor: tagged with the monitor's tags (the task's labels), so it shows
 * beside the monitor's own events, and aggregated by the incident's dedup hash.
 */
export function datadogReporter(config: DatadogReporterConfig): Reporter {
  const url = `${config.apiUrl.replace(/\/+$/, '')}/api/v1/events`;
  return {
    name: 'datadog',
    deliveries(finished: FinishedTask): Delivery[] {
      const body = datadogEvent(finished);
      return [
        {
          reporter: 'datadog',
          taskId: finished.outcome.task_id,
          what: `event for alert ${finished.outcome.external_id}`,
          send: async (signal) => {
            await sendJson({
              method: 'POST',
              url,
              headers: { 'dd-api-key': config.apiKey },
              body,
              signal,
              what: `Datadog event for alert ${finished.outcome.external_id}`,
            });
          },
        },
      ];
    },
  };
}

export function datadogEvent({ outcome, title, url, labels, dedupHash }: FinishedTask): Record<string, unknown> {
  const about = title ?? `alert ${outcome.external_id}`;
  const lines = [...outcomeLines(outcome), ...(url ? [`Alert: ${url}`] : [])];
  const room = TEXT_LIMIT - MARKDOWN_OPEN.length - MARKDOWN_CLOSE.length;
  const text = lines.join('\n');
  return {
    title: cut(`anton ${OUTCOME_SUMMARY[outcome.status]}: ${about}`, TITLE_LIMIT),
    text: `${MARKDOWN_OPEN}${cut(text, room)}${MARKDOWN_CLOSE}`,
    tags: tags(labels, outcome.status),
    alert_type: ALERT_TYPE[outcome.status],
    priority: 'normal',
    ...(dedupHash !== undefined && { aggregation_key: dedupHash.slice(0, 100) }),
  };
}

/** `key:value` per label value (repeated tag keys were joined with commas), and anton's status. */
function tags(labels: Record<string, string>, status: OutcomeStatus): string[] {
  const all = Object.entries(labels).flatMap(([key, value]) =>
    value.split(',').map((part) => cut(`${key}:${part.trim()}`, TAG_LIMIT)),
  );
  return [...new Set([...all, `anton_status:${status}`])];
}

const cut = (text: string, limit: number): string => (text.length > limit ? `${text.slice(0, limit - 1)}…` : text);
