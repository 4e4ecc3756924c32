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
  return { reporting, queue, published, released, delivered };
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
});
