import { CONTEXT_FILE, RunnerContext } from '@anton/contracts';
import { type RecordedRequest, waitFor } from '@anton/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Pipeline } from './harness/pipeline.ts';
import { datadogAlert, jiraIssueCreated, SAMPLE_KEYS, sonarGateFailed } from './harness/sample-webhooks.ts';
import { finishedRun, jobOf, pullsFor } from './harness/task-assertions.ts';

// One pipeline for the file; each case is one incident of its own source, run to its pull request.
let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await Pipeline.start({ label: 'e2e-enriched' });
});
afterAll(() => pipeline?.close());
afterEach(async () => {
  await pipeline.kubelet?.idle();
  expect(pipeline.anthropic.failures).toEqual([]);
});

const NPE_STACK = [
  "TypeError: Cannot read properties of undefined (reading 'percent')",
  '    at applyDiscount (/app/src/pricing.js:3:24)',
  '    at checkout (/app/src/checkout.js:12:10)',
].join('\n');

/** The webhook through to the task.json of its Job, the router's request and the coder's first request. */
async function throughThePipeline(source: 'jira' | 'datadog' | 'sonarcloud', payload: object) {
  const reply = await pipeline.postWebhook(source, payload);
  expect(reply.status, JSON.stringify(reply.body)).toBe(202);
  const taskId = String(reply.body.task_id);
  const { configMap } = await jobOf(pipeline, taskId);
  const context = RunnerContext.parse(
    JSON.parse((configMap as { data?: Record<string, string> }).data?.[CONTEXT_FILE] ?? '{}'),
  );
  const run = await finishedRun(pipeline, taskId);
  const mentions = (req: RecordedRequest) => JSON.stringify(req.json).includes(context.issue_id);
  const router = pipeline.anthropic
    .received('/v1/messages')
    .find((req) => mentions(req) && JSON.stringify(req.json).includes('"route_task"'));
  const coder = await waitFor(
    () =>
      pipeline.anthropic
        .received('/v1/messages')
        .find(
          (req) => JSON.stringify(req.json).includes('You are anton, an automated software engineer') && mentions(req),
        ),
    { what: `the coder's first request for ${taskId}` },
  );
  const system = JSON.stringify((coder.json as { system?: unknown }).system);
  return { taskId, context, run, router: JSON.stringify(router?.json ?? {}), system };
}

/** The part of the coder's system prompt inside the untrusted-data delimiters. */
function taskData(system: string): string {
  const data = JSON.parse(system) as string | Array<{ text: string }>;
  const text = typeof data === 'string' ? data : data.map((block) => block.text).join('\n');
  return text.slice(text.lastIndexOf('<task_data>'), text.lastIndexOf('</task_data>'));
}

describe("the coder gets the incident from the source's API, not just its headline", () => {
  it('SonarCloud: the failed gate’s issues with rule, file and line; named and based on what was analysed', async () => {
    pipeline.sonar
      .addRule('javascript:S1854', 'Unused assignments should be removed')
      .addRule('javascript:S6959', 'Percentages should be divided before they are applied')
      .addIssue(SAMPLE_KEYS.sonarProject, {
        rule: 'javascript:S6959',
        severity: 'CRITICAL',
        type: 'BUG',
        path: 'src/pricing.js',
        line: 3,
        textRange: { startLine: 3, endLine: 3, startOffset: 9, endOffset: 24 },
        message: 'Divide "percent" by 100 before multiplying "price" by it.',
        newCode: true,
      })
      .addIssue(SAMPLE_KEYS.sonarProject, {
        rule: 'javascript:S1854',
        severity: 'MINOR',
        type: 'CODE_SMELL',
        path: 'src/checkout.js',
        line: 8,
        message: 'Remove this useless assignment to variable "total".',
        newCode: true,
      });
    const payload = sonarGateFailed('AYe2eEnrich1');
    payload.qualityGate.conditions = [
      { metric: 'new_reliability_rating', operator: 'GREATER_THAN', value: '4', status: 'ERROR', errorThreshold: '1' },
    ];
    const { context, system, router, run } = await throughThePipeline('sonarcloud', payload);

    expect(context.issue_id).toBe(`${SAMPLE_KEYS.sonarProject}@main`);
    expect(context.base_branch).toBe('main');
    expect(context.task_description).toContain('## SonarCloud findings');
    expect(context.task_description).toContain(
      '1. [CRITICAL BUG] javascript:S6959 "Percentages should be divided before they are applied"\n   src/pricing.js:3 (columns 9-24)\n   Divide "percent" by 100',
    );
    expect(context.task_description).toContain('2. [MINOR CODE_SMELL] javascript:S1854');
    expect(JSON.stringify(context)).not.toContain(pipeline.sonar.token);
    expect(router).toContain('src/pricing.js:3');
    const data = taskData(system);
    expect(data).toContain('src/pricing.js:3 (columns 9-24)');
    expect(data).toContain("Router's guess (from the task text alone");
    await run.done;
    const [pull] = pullsFor(pipeline, `fix/${SAMPLE_KEYS.sonarProject}-main`);
    expect(pull?.title).toMatch(/^fix\(acme_sample-shop@main\): /);
  });

  it("Datadog: the alert's error stacks, deduplicated, and the deployed commit the coder is told differs", async () => {
    const now = Date.now();
    const deployed = '0123456789abcdef0123456789abcdef01234567';
    for (let i = 0; i < 4; i++) {
      pipeline.datadog.addLog({
        timestamp: new Date(now - (i + 1) * 60_000),
        service: SAMPLE_KEYS.datadogService,
        status: 'error',
        message: `checkout ${i} failed`,
        host: 'shop-1',
        tags: ['env:prod', 'version:1.8.0', `git.commit.sha:${deployed}`],
        attributes: {
          error: {
            kind: 'TypeError',
            message: "Cannot read properties of undefined (reading 'percent')",
            stack: NPE_STACK,
          },
        },
      });
    }
    const payload = datadogAlert('e2e-enrich-dd-1');
    payload.date = String(now);
    payload.alert_scope = 'env:prod';
    const { context, system } = await throughThePipeline('datadog', payload);

    expect(context.task?.deployed_commit).toBe(deployed);
    expect(context.task_description).toContain('## Datadog error evidence');
    expect(context.task_description).toContain(
      "### 4× TypeError: Cannot read properties of undefined (reading 'percent')",
    );
    expect(context.task_description).toContain('    at applyDiscount (/app/src/pricing.js:3:24)');
    expect(context.task_description).toContain(`Deployed: version 1.8.0, commit ${deployed}.`);
    const prompt = JSON.parse(system);
    const text =
      typeof prompt === 'string' ? prompt : (prompt as Array<{ text: string }>).map((b) => b.text).join('\n');
    expect(text).toContain(`## Deployed code differs from the branch\nThe alerting service runs commit ${deployed}`);
    expect(taskData(system)).toContain('at applyDiscount (/app/src/pricing.js:3:24)');
    expect(JSON.stringify(context)).not.toContain(pipeline.datadog.appKey);
  });

  it("JIRA: the issue's discussion, without anton's own comments, and its attachments and links", async () => {
    const key = `${SAMPLE_KEYS.jiraProject}-7`;
    pipeline.jira.addIssue(key, {
      components: ['pricing'],
      attachments: [{ filename: 'checkout.log', mimeType: 'text/plain', content: `${NPE_STACK}\n` }],
      links: [
        {
          direction: 'inward',
          type: { name: 'Relates', inward: 'relates to', outward: 'relates to' },
          key: 'SHOP-3',
          summary: 'Discount codes',
        },
      ],
    });
    pipeline.jira.addComment(key, 'Only percentages above 1 break it: 25 gives -4800.', undefined, 30);
    pipeline.jira.addComment(
      key,
      'anton could not fix this.\nReason: the tests failed\nTask 00000000-0000-4000-8000-000000000000.',
      { accountId: '5b10ac8d82e05b22cc7d4ef5', displayName: 'Anton Bot' },
      20,
    );
    const { context, system } = await throughThePipeline('jira', jiraIssueCreated(7));

    expect(context.task_description).toContain('## JIRA discussion and context');
    expect(context.task_description).toContain('Only percentages above 1 break it: 25 gives -4800.');
    expect(context.task_description).not.toContain('anton could not fix this');
    expect(context.task_description).toContain(`Attachment checkout.log:\n${NPE_STACK}`);
    expect(context.task_description).toContain('- relates to SHOP-3: Discount codes');
    expect(taskData(system)).toContain('Only percentages above 1 break it');
    expect(JSON.stringify(context)).not.toContain(pipeline.jira.apiToken);
  });

  it('a source whose API is down: the task goes on with its webhook text, counted as an enrichment error', async () => {
    pipeline.sonar.inject({ kind: 'drop' }, { times: 100 });
    const payload = sonarGateFailed('AYe2eEnrich2');
    payload.branch = { name: '9', type: 'PULL_REQUEST', url: 'https://sonarcloud.io/summary?pullRequest=9' };
    const { context, run } = await throughThePipeline('sonarcloud', payload);
    pipeline.sonar.clearFaults();

    expect(context.issue_id).toBe(`${SAMPLE_KEYS.sonarProject}@pr-9`);
    expect(context.task_description).toContain('Quality gate "My Quality Gate" is ERROR');
    expect(context.task_description).not.toContain('SonarCloud findings');
    // The PR's head branch was not learnt: the routing entry's base branch serves.
    expect(context.base_branch).toBe('main');
    expect(run.exitCode).toBe(0);
    expect(await pipeline.metrics()).toMatch(
      /^anton_orchestrator_enrichment_total\{source="sonarcloud",result="error"\} 1$/m,
    );
    const warning = pipeline.orchestrator.lines.find(
      (line) => line.msg === 'enrichment failed: the task goes on without it',
    );
    expect(warning).toMatchObject({ task_id: context.task?.task_id, source: 'sonarcloud' });
    expect(JSON.stringify(pipeline.orchestrator.lines)).not.toContain(pipeline.sonar.token);
  });
});
