import type { FinishedTask } from '../outcomes/finished-task.ts';
import { outcomeLines } from './outcome-words.ts';
import { ReportError } from './report-error.ts';
import type { Delivery, Reporter } from './reporter.ts';
import { sendJson } from './send-json.ts';

export interface JiraReporterConfig {
  baseUrl: string;
  email: string;
  apiToken: string;
  /** Added to the issue when a pull request was opened. */
  doneLabel?: string | undefined;
  /** The transition (by name, or by the status it leads to) applied when a pull request was opened. */
  transition?: string | undefined;
  /** Replaces Basic auth: `Bearer <token>` for a Data Center personal access token (JIRA_AUTH=bearer). */
  authorization?: string;
}

interface Transition {
  id: string;
  name: string;
  to?: { name?: string };
}

/**
 * Comments on the JIRA issue a task came from (its `external_id`, the issue key) with the outcome
 * and the PR link; on a PR, optionally labels and transitions the issue. Uses REST API v2 with a
 * plain-text body: v2 is what Jira Cloud and Jira Data Center both serve (v3 and its ADF bodies
 * are Cloud only), and both turn the bare PR URL into a link. Basic auth, email and API token
 * (on Data Center: user name and password or token).
 */
export function jiraReporter(config: JiraReporterConfig): Reporter {
  const api = `${config.baseUrl.replace(/\/+$/, '')}/rest/api/2`;
  const headers = {
    authorization:
      config.authorization ?? `Basic ${Buffer.from(`${config.email}:${config.apiToken}`).toString('base64')}`,
  };

  return {
    name: 'jira',
    deliveries({ outcome }: FinishedTask): Delivery[] {
      const key = outcome.external_id;
      const issue = `${api}/issue/${encodeURIComponent(key)}`;
      const delivery = (what: string, send: (signal: AbortSignal) => Promise<void>): Delivery => ({
        reporter: 'jira',
        taskId: outcome.task_id,
        what: `${what} ${key}`,
        send,
      });
      const deliveries = [
        delivery('comment on', async (signal) => {
          const body = { body: outcomeLines(outcome).join('\n') };
          await sendJson({ method: 'POST', url: `${issue}/comment`, headers, body, signal, what: `comment on ${key}` });
        }),
      ];
      if (outcome.status !== 'pr_opened') return deliveries;
      const { doneLabel, transition } = config;
      if (doneLabel) {
        deliveries.push(
          delivery(`label ${doneLabel} on`, async (signal) => {
            const body = { update: { labels: [{ add: doneLabel }] } };
            await sendJson({ method: 'PUT', url: issue, headers, body, signal, what: `label on ${key}` });
          }),
        );
      }
      if (transition) {
        deliveries.push(delivery(`transition "${transition}" of`, (signal) => applyTransition(issue, key, signal)));
      }
      return deliveries;
    },
  };

  /** Looks the transition's id up (ids differ per workflow); an issue already in that status is left alone. */
  async function applyTransition(issue: string, key: string, signal: AbortSignal): Promise<void> {
    const wanted = (config.transition ?? '').toLowerCase();
    const what = `transition of ${key}`;
    const listed = (await sendJson({ method: 'GET', url: `${issue}/transitions`, headers, signal, what })) as {
      transitions?: Transition[];
    };
    const transitions = listed?.transitions ?? [];
    const match = transitions.find((t) => t.name.toLowerCase() === wanted || t.to?.name?.toLowerCase() === wanted);
    if (match) {
      const body = { transition: { id: match.id } };
      await sendJson({ method: 'POST', url: `${issue}/transitions`, headers, body, signal, what });
      return;
    }
    const current = (await sendJson({ method: 'GET', url: `${issue}?fields=status`, headers, signal, what })) as {
      fields?: { status?: { name?: string } };
    };
    if (current?.fields?.status?.name?.toLowerCase() === wanted) return;
    throw new ReportError(
      `${what}: no transition "${config.transition}" available (available: ${transitions.map((t) => t.name).join(', ') || 'none'})`,
      { retryable: false },
    );
  }
}
