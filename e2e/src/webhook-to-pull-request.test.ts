import type { Source } from '@anton/contracts';
import { waitFor } from '@anton/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Pipeline } from './harness/pipeline.ts';
import { datadogAlert, jiraIssueCreated, SAMPLE_KEYS, sonarGateFailed } from './harness/sample-webhooks.ts';
import { SCRIPTED_PLAN } from './harness/scripted-llm.ts';
import {
  clusterCounts,
  expectOutcomeRecorded,
  expectPullRequest,
  expectRunAsTheJobSays,
  expectTaskInEveryLog,
  finishedRun,
  jobOf,
  nonEmpty,
} from './harness/task-assertions.ts';

// One pipeline for the file: each test uses incidents of its own and waits for its pods to end.
let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await Pipeline.start({ label: 'e2e-flow' });
});
afterAll(() => pipeline?.close());
afterEach(async () => {
  await pipeline.kubelet?.idle();
  expect(pipeline.anthropic.failures).toEqual([]);
  expect(pipeline.openai.failures).toEqual([]);
});

interface SourceCase {
  source: Source;
  payload: () => object;
  /** What the source's reporter posted back where the work came from, given the PR's URL. */
  reportedBack: (prUrl: string) => Promise<void>;
}

const CASES: SourceCase[] = [
  {
    source: 'jira',
    payload: () => {
      pipeline.jira.addIssue(`${SAMPLE_KEYS.jiraProject}-1`);
      return jiraIssueCreated(1);
    },
    reportedBack: async (prUrl) => {
      const comments = await waitFor(() => nonEmpty(pipeline.jira.comments('SHOP-1')), {
        what: 'the JIRA comment',
      });
      expect(comments).toHaveLength(1);
      expect(comments[0]?.text).toContain(prUrl);
    },
  },
  {
    source: 'datadog',
    payload: () => datadogAlert('e2e-alert-1'),
    reportedBack: async (prUrl) => {
      const event = await waitFor(() => pipeline.datadog.events().find((e) => e.text.includes(prUrl)), {
        what: 'the Datadog event',
      });
      expect(event.tags).toContain(`service:${SAMPLE_KEYS.datadogService}`);
    },
  },
  {
    source: 'sonarcloud',
    payload: () => sonarGateFailed('e2e-analysis-1'),
    // SonarCloud has nowhere to post to: the outcome is in the PR, the logs and task.completed.
    reportedBack: async () => undefined,
  },
];

describe('a signed webhook becomes one Job, one pushed fix, one pull request and one outcome', () => {
  it.each(CASES)('$source', async ({ source, payload, reportedBack }) => {
    const before = clusterCounts(pipeline);
    const reply = await pipeline.postWebhook(source, payload());
    expect(reply.status, JSON.stringify(reply.body)).toBe(202);
    const taskId = String(reply.body.task_id);

    const { job, configMap } = await jobOf(pipeline, taskId);
    expect(job.metadata.labels).toMatchObject({ 'task-id': taskId, 'anton.dev/source': source });
    const run = await finishedRun(pipeline, taskId);
    expect(clusterCounts(pipeline)).toEqual({ jobs: before.jobs + 1, contexts: before.contexts + 1 });
    await expectRunAsTheJobSays(pipeline, taskId, { run, configMap, plan: SCRIPTED_PLAN });
    const result = await expectPullRequest(pipeline, taskId, run);
    const outcome = await expectOutcomeRecorded(pipeline, taskId, { source, result });
    expect(outcome).toMatchObject({ routed_by: 'llm', template_id: SCRIPTED_PLAN.template_id });
    await reportedBack(result.pr_url ?? '');
    expectTaskInEveryLog(pipeline, taskId);
  });
});
