import { FakeJira } from '@anton/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runnerResult } from '../../test/runner-results.ts';
import { makeTask } from '../../test/tasks.ts';
import type { RunOutcome } from '../outcomes/decide-outcome.ts';
import { type FinishedTask, finishedTask } from '../outcomes/finished-task.ts';
import { jiraReporter } from './jira-reporter.ts';
import { ReportError } from './report-error.ts';

let jira: FakeJira;
beforeEach(async () => {
  jira = await FakeJira.start({ email: 'anton@acme.test', apiToken: 'atl-secret' });
  jira.addIssue('ORD-42', {
    transitions: [
      { id: '21', name: 'Start review', to: 'In Review' },
      { id: '31', name: 'Done' },
    ],
  });
});
afterEach(() => jira.close());

const config = (extra: { doneLabel?: string; transition?: string; apiToken?: string } = {}) => ({
  baseUrl: jira.url,
  email: 'anton@acme.test',
  apiToken: 'atl-secret',
  ...extra,
});

function finished(run: Partial<RunOutcome> = {}): FinishedTask {
  const task = makeTask();
  return finishedTask(
    { taskId: task.task_id, source: 'jira', externalId: 'ORD-42', templateId: 'java-backend', routedBy: 'llm' },
    { status: 'pr_opened', pr_url: 'https://github.com/acme/orders/pull/7', usage: runnerResult().usage, ...run },
    new Date(),
  );
}

async function deliver(reporter: ReturnType<typeof jiraReporter>, task: FinishedTask): Promise<void> {
  for (const delivery of reporter.deliveries(task)) await delivery.send(AbortSignal.timeout(5000));
}

describe('the JIRA reporter', () => {
  it('comments with a Data Center personal access token as Bearer when one is configured', async () => {
    await jira.close();
    jira = await FakeJira.start({ email: 'anton@acme.test', apiToken: 'atl-secret', bearerToken: 'dc-pat' });
    jira.addIssue('ORD-42');
    await deliver(jiraReporter({ ...config(), apiToken: 'unused', authorization: 'Bearer dc-pat' }), finished());
    expect(jira.comments('ORD-42')).toHaveLength(1);
    expect(jira.received(/\/comment$/, 'POST')[0]?.headers.authorization).toBe('Bearer dc-pat');
  });

  it('comments the PR link on the issue through REST v2, with basic auth', async () => {
    const task = finished();
    await deliver(jiraReporter(config()), task);
    const [comment] = jira.comments('ORD-42');
    expect(comment?.apiVersion).toBe(2);
    expect(comment?.text).toBe(
      [
        'anton opened a pull request.',
        'Pull request: https://github.com/acme/orders/pull/7',
        `Task ${task.outcome.task_id} (template java-backend).`,
      ].join('\n'),
    );
    expect(jira.received('/rest/api/2/issue/ORD-42/comment', 'POST')[0]?.headers.authorization).toBe(
      jira.authorization,
    );
    expect(jira.issue('ORD-42')).toMatchObject({ status: 'To Do', labels: [] });
  });

  it('comments the reason of a failure, with no PR link, and neither labels nor transitions', async () => {
    const reporter = jiraReporter(config({ doneLabel: 'anton-pr', transition: 'In Review' }));
    const failed = finished({ status: 'failed', pr_url: undefined, reason: 'the tests still fail after 3 rounds' });
    expect(reporter.deliveries(failed)).toHaveLength(1);
    await deliver(reporter, failed);
    const [comment] = jira.comments('ORD-42');
    expect(comment?.text).toContain('anton could not fix this.\nReason: the tests still fail after 3 rounds');
    expect(comment?.text).not.toContain('http');
    expect(jira.issue('ORD-42')).toMatchObject({ status: 'To Do', labels: [] });
  });

  it('on a PR, adds the done label and applies the transition found by the status it leads to', async () => {
    await deliver(jiraReporter(config({ doneLabel: 'anton-pr', transition: 'in review' })), finished());
    expect(jira.issue('ORD-42')).toMatchObject({ status: 'In Review', labels: ['anton-pr'] });
    expect(jira.received('/rest/api/2/issue/ORD-42/transitions', 'POST')[0]?.json).toEqual({
      transition: { id: '21' },
    });
  });

  it('leaves an issue already in the wanted status alone, and refuses an unknown transition for good', async () => {
    jira.addIssue('ORD-43', { status: 'Done', transitions: [{ id: '11', name: 'Reopen', to: 'To Do' }] });
    const task = (key: string) => {
      const base = finished();
      return { ...base, outcome: { ...base.outcome, external_id: key } };
    };
    const [, already] = jiraReporter(config({ transition: 'Done' })).deliveries(task('ORD-43'));
    await already?.send(AbortSignal.timeout(5000));
    expect(jira.issue('ORD-43').status).toBe('Done');

    const [, unknown] = jiraReporter(config({ transition: 'Ship it' })).deliveries(task('ORD-42'));
    const error = await unknown?.send(AbortSignal.timeout(5000)).catch((e) => e);
    expect(error).toBeInstanceOf(ReportError);
    expect(error).toMatchObject({ retryable: false });
    expect(error.message).toMatch(/no transition "Ship it" available \(available: Start review, Done\)/);
  });

  it('says a 5xx may pass on another try, and bad credentials or an unknown issue will not', async () => {
    const [comment] = jiraReporter(config()).deliveries(finished());
    jira.serverError(1, 503);
    expect(await comment?.send(AbortSignal.timeout(5000)).catch((e) => e)).toMatchObject({
      retryable: true,
      status: 503,
    });
    jira.rateLimited(7);
    expect(await comment?.send(AbortSignal.timeout(5000)).catch((e) => e)).toMatchObject({
      retryable: true,
      retryAfterMs: 7000,
    });

    const [wrongToken] = jiraReporter(config({ apiToken: 'nope' })).deliveries(finished());
    const denied = await wrongToken?.send(AbortSignal.timeout(5000)).catch((e) => e);
    expect(denied).toMatchObject({ retryable: false, status: 401 });
    expect(denied.message).not.toContain('nope');

    const base = finished();
    const [missing] = jiraReporter(config()).deliveries({
      ...base,
      outcome: { ...base.outcome, external_id: 'NOPE-1' },
    });
    expect(await missing?.send(AbortSignal.timeout(5000)).catch((e) => e)).toMatchObject({
      retryable: false,
      status: 404,
    });
    expect(jira.comments('ORD-42')).toHaveLength(0);
  });
});
