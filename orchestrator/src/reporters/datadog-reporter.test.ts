import { FakeDatadog } from '@anton/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTask } from '../../test/tasks.ts';
import type { RunOutcome } from '../outcomes/decide-outcome.ts';
import { type FinishedTask, finishedTask } from '../outcomes/finished-task.ts';
import { datadogReporter } from './datadog-reporter.ts';

let datadog: FakeDatadog;
beforeEach(async () => {
  datadog = await FakeDatadog.start();
});
afterEach(() => datadog.close());

const labels = { env: 'prod,staging', service: 'checkout', 'git.repository_url': 'github.com/acme/checkout' };

function finished(
  run: Partial<RunOutcome> = {},
  title = '[Triggered on {service:checkout}] Error rate high',
): FinishedTask {
  const task = makeTask({ source: 'datadog', external_id: '7001' });
  return finishedTask(
    {
      taskId: task.task_id,
      source: 'datadog',
      externalId: '7001',
      templateId: 'general-research',
      title,
      url: 'https://app.datadoghq.com/event/event?id=7001',
      labels,
      dedupHash: 'c'.repeat(63),
    },
    { status: 'pr_opened', pr_url: 'https://github.com/acme/checkout/pull/3', ...run },
    new Date(),
  );
}

const send = async (task: FinishedTask, apiKey = datadog.apiKey) => {
  for (const delivery of datadogReporter({ apiUrl: datadog.url, apiKey }).deliveries(task)) {
    await delivery.send(AbortSignal.timeout(5000));
  }
};

describe('the Datadog reporter', () => {
  it("posts an event with the monitor's tags, aggregated by the incident", async () => {
    const task = finished();
    await send(task);
    expect(datadog.events()).toEqual([
      {
        id: expect.any(Number),
        title: 'anton opened a pull request: [Triggered on {service:checkout}] Error rate high',
        text: [
          '%%% ',
          'anton opened a pull request.',
          'Pull request: https://github.com/acme/checkout/pull/3',
          `Task ${task.outcome.task_id} (template general-research).`,
          'Alert: https://app.datadoghq.com/event/event?id=7001',
          ' %%%',
        ].join('\n'),
        tags: [
          'env:prod',
          'env:staging',
          'service:checkout',
          'git.repository_url:github.com/acme/checkout',
          'anton_status:pr_opened',
        ],
        alert_type: 'success',
        aggregation_key: 'c'.repeat(63),
        priority: 'normal',
        date_happened: expect.any(Number),
      },
    ]);
    expect(datadog.received('/api/v1/events', 'POST')[0]?.headers['dd-api-key']).toBe(datadog.apiKey);
  });

  it.each([
    ['no_changes', 'info'],
    ['rejected', 'warning'],
    ['failed', 'error'],
    ['timed_out', 'error'],
  ] as const)('marks %s as %s, with the reason and no PR', async (status, alertType) => {
    await send(finished({ status, pr_url: undefined, reason: 'why not' }));
    const [event] = datadog.events();
    expect(event).toMatchObject({ alert_type: alertType, tags: expect.arrayContaining([`anton_status:${status}`]) });
    expect(event?.text).toContain('Reason: why not');
    expect(event?.text).not.toContain('Pull request');
  });

  it('keeps within the API limits: title 100 characters, text 4000', async () => {
    await send(finished({ status: 'failed', pr_url: undefined, reason: 'r'.repeat(6000) }, 't'.repeat(300)));
    const [event] = datadog.events();
    expect(event?.title).toHaveLength(100);
    expect(event?.text.length).toBeLessThanOrEqual(4000);
    expect(event?.text.endsWith(' %%%')).toBe(true);
  });

  it('fails for good on a wrong API key (403), never saying the key', async () => {
    const error = await send(finished(), 'wrong-key').catch((e) => e);
    expect(error).toMatchObject({ retryable: false, status: 403 });
    expect(error.message).not.toContain('wrong-key');
    expect(datadog.events()).toHaveLength(0);
  });
});
