import type { OutcomeStatus, Source, TaskOutcome } from '@anton/contracts';
import { waitFor } from '@anton/testing';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { makeTask } from '../../test/tasks.ts';
import { createMetrics } from '../metrics.ts';
import { ReportQueue } from '../reporters/report-queue.ts';
import type { Reporter } from '../reporters/reporter.ts';
import { type FinishedTask, finishedTask } from './finished-task.ts';
import { OutcomeReporting } from './outcome-reporting.ts';

const logger = pino({ level: 'silent' });

function setup() {
  const published: TaskOutcome[] = [];
  const released: Array<[string, string]> = [];
  const delivered: Array<[string, string]> = [];
  const reporter = (name: string): Reporter => ({
    name,
    deliveries: (finished) => [
      {
        reporter: name,
        taskId: finished.outcome.task_id,
        what: 'note',
        send: async () => {
          delivered.push([name, finished.outcome.task_id]);
        },
      },
    ],
  });
  const metrics = createMetrics();
  const queue = new ReportQueue({ maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, timeoutMs: 1000, logger, metrics });
  const reporting = new OutcomeReporting({
    queue,
    publish: async (outcome) => {
      published.push(outcome);
    },
    publishAttempts: 3,
    reporters: { jira: [reporter('jira')], datadog: [reporter('datadog')], sonarcloud: [] },
    releaseClaim: async (hash, taskId) => {
      released.push([hash, taskId]);
    },
    metrics,
    logger,
  });
  return { reporting, queue, published, released, delivered, metrics };
}

function finished(source: Source, status: OutcomeStatus): FinishedTask {
  const task = makeTask({ source });
  return finishedTask(
    { taskId: task.task_id, source, externalId: task.external_id, dedupHash: 'e'.repeat(63) },
    { status },
    new Date(),
  );
}

describe('OutcomeReporting', () => {
  it("publishes the outcome and runs its source's reporters, once per task", async () => {
    const { reporting, queue, published, delivered } = setup();
    const fromJira = finished('jira', 'pr_opened');
    const fromSonar = finished('sonarcloud', 'no_changes');
    reporting.report(fromJira);
    reporting.report(fromJira); // a second report of one task (e.g. a local run told twice) is dropped
    reporting.report(fromSonar);
    await waitFor(() => queue.pending === 0, { what: 'the deliveries' });
    expect(published.map((o) => o.task_id)).toEqual([fromJira.outcome.task_id, fromSonar.outcome.task_id]);
    expect(delivered).toEqual([['jira', fromJira.outcome.task_id]]);
  });

  it('releases the claim of a failed task only', async () => {
    const { reporting, released } = setup();
    const failed = finished('datadog', 'failed');
    reporting.report(failed);
    for (const status of ['pr_opened', 'no_changes', 'rejected', 'timed_out'] as const) {
      reporting.report(finished('datadog', status));
    }
    expect(released).toEqual([['e'.repeat(63), failed.outcome.task_id]]);
  });

  it("owes each outcome to the task.completed message and its source's reporters", () => {
    const { reporting } = setup();
    expect(reporting.owed(finished('jira', 'pr_opened'))).toEqual(['task_completed', 'jira']);
    expect(reporting.owed(finished('sonarcloud', 'pr_opened'))).toEqual(['task_completed']);
  });

  it('delivers only what is still owed when asked, and does not count the outcome again', async () => {
    const { reporting, published, delivered, metrics } = setup();
    const fromJira = finished('jira', 'pr_opened');
    const done: string[] = [];
    await expect(reporting.report(fromJira, new Set(['jira']), (reporter) => done.push(reporter))).resolves.toEqual([]);
    expect(done).toEqual(['jira']);
    expect(delivered).toEqual([['jira', fromJira.outcome.task_id]]);
    expect(published).toEqual([]);
    expect((await metrics.outcomes.get()).values).toEqual([]);
  });

  it('resolves with the reporters a shutdown left undelivered', async () => {
    const { reporting, queue, delivered } = setup();
    await queue.drain(0);
    const done: string[] = [];
    const left = reporting.report(finished('jira', 'pr_opened'), undefined, (reporter) => done.push(reporter));
    await expect(left).resolves.toEqual(['task_completed', 'jira']);
    expect(delivered).toEqual([]);
    expect(done).toEqual([]);
  });
});
