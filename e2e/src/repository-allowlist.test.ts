import { DEAD_LETTER_EXCHANGE, DEAD_LETTER_ROUTING_KEY, HEADERS } from '@anton/contracts';
import { type Capture, captureMessages, waitFor } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pipeline } from './harness/pipeline.ts';
import { datadogAlert, sonarGateFailed } from './harness/sample-webhooks.ts';
import { clusterCounts } from './harness/task-assertions.ts';

// The attack: whoever can set a Datadog tag or a Sonar analysis property names the repository,
// and the runner's credential proxy adds the GitHub token to its git traffic there.
let pipeline: Pipeline;
let deadLetters: Capture;

beforeAll(async () => {
  pipeline = await Pipeline.start({ label: 'e2e-allowlist', kubelet: false });
  deadLetters = await captureMessages(pipeline.vhost.url, DEAD_LETTER_ROUTING_KEY, {
    exchange: DEAD_LETTER_EXCHANGE,
    type: 'direct',
  });
});
afterAll(async () => {
  await deadLetters?.close();
  await pipeline?.close();
});

const reasonOf = (taskId: string) => {
  const letter = deadLetters.messages.find((m) => JSON.parse(m.content.toString()).task_id === taskId);
  return letter && String(letter.properties.headers?.[HEADERS.deadLetterReason]);
};

describe('a webhook naming a repository ROUTING_CONFIG does not allow', () => {
  it.each([
    ['a Datadog git.repository_url tag on another host', 'http://evil.example/x/y.git'],
    ['a Datadog tag naming an unlisted GitHub repository', 'https://github.com/mallory/loot.git'],
  ])('%s: dead-lettered, no Job, no routing call', async (_what, repository) => {
    const before = clusterCounts(pipeline);
    const routingCalls = pipeline.anthropic.received('/v1/messages', 'POST').length;
    const alert = datadogAlert(`e2e-evil-${before.jobs}-${repository.length}`);
    alert.tags = `${alert.tags},git.repository_url:${repository}`;
    const reply = await pipeline.postWebhook('datadog', alert);
    expect(reply.status).toBe(202);
    const taskId = String(reply.body.task_id);
    const reason = await waitFor(() => reasonOf(taskId), { what: 'the dead letter' });
    expect(reason).toBe(`repository not allowed: ${repository}`);
    await pipeline.kubernetes.settled();
    expect(pipeline.job(taskId)).toBeUndefined();
    expect(clusterCounts(pipeline)).toEqual(before);
    expect(pipeline.anthropic.received('/v1/messages', 'POST')).toHaveLength(routingCalls);
  });

  it("a Sonar analysis property: dead-lettered, and the incident's claim is not left behind", async () => {
    const gate = sonarGateFailed('e2e-evil-sonar');
    gate.properties = { ...gate.properties, 'sonar.analysis.repository': 'https://evil.example/acme/sample-shop' };
    const reply = await pipeline.postWebhook('sonarcloud', gate);
    const taskId = String(reply.body.task_id);
    expect(await waitFor(() => reasonOf(taskId), { what: 'the dead letter' })).toBe(
      'repository not allowed: https://evil.example/acme/sample-shop',
    );
    await pipeline.kubernetes.settled();
    expect(pipeline.job(taskId)).toBeUndefined();
    expect(pipeline.kubernetes.configMaps('agents').filter((c) => c.metadata.name?.startsWith('anton-dedup-'))).toEqual(
      [],
    );
  });
});
