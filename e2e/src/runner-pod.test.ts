import { stat } from 'node:fs/promises';
import { RunnerResult } from '@anton/contracts';
import { waitFor } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PodRun } from './harness/kubelet.ts';
import { Pipeline } from './harness/pipeline.ts';
import { jiraIssueCreated, SAMPLE_KEYS } from './harness/sample-webhooks.ts';
import { expectPullRequest, jobOf } from './harness/task-assertions.ts';

// One task through a runner pod run the way a node runs it (harness/kubelet.ts): its own network
// namespace and IP, probes sent as the kubelet sends them, emptyDirs as the kubelet makes them,
// each container as its securityContext says. What a real cluster would refuse, this refuses.
let pipeline: Pipeline;
let run: PodRun;

beforeAll(async () => {
  pipeline = await Pipeline.start({ label: 'e2e-pod' });
  pipeline.jira.addIssue(`${SAMPLE_KEYS.jiraProject}-7`);
  const reply = await pipeline.postWebhook('jira', jiraIssueCreated(7));
  expect(reply.status, JSON.stringify(reply.body)).toBe(202);
  const taskId = String(reply.body.task_id);
  await jobOf(pipeline, taskId);
  // The first pod is the one that shows what a node does (a failed one is retried by the Job).
  run = await waitFor(() => pipeline.kubelet?.runsFor(taskId)[0], { timeoutMs: 20_000, what: 'the pod' });
  await run.done;
}, 180_000);
afterAll(() => pipeline?.close(), 60_000);

describe('a runner pod on a node', () => {
  it('passes the credential proxy startup probe as the kubelet sends it, and starts the agent', () => {
    expect(run.error).toBeUndefined();
    const proxyProbes = run.probes.filter((probe) => probe.container === 'credential-proxy');
    expect(proxyProbes.at(-1)?.ok, JSON.stringify(proxyProbes)).toBe(true);
    expect(run.agent).toBeDefined();
  });

  it('clones and pushes from an emptyDir made as the kubelet makes it (root, group fsGroup, 2777)', async () => {
    const workspace = run.mapping?.volumes.get('workspace') ?? '';
    const info = await stat(workspace);
    expect({ uid: info.uid, gid: info.gid, mode: (info.mode & 0o7777).toString(8) }).toEqual({
      uid: 0,
      gid: 10001,
      mode: '2777',
    });
    expect(run.agent?.process.output.join('\n')).not.toContain('dubious ownership');
    await expectPullRequest(pipeline, run.taskId ?? '', run);
  });

  it('gets the runner result from /dev/termination-log, the file a kubelet mounts there', () => {
    expect(run.agent?.env.TERMINATION_LOG).toBeUndefined();
    const result = RunnerResult.parse(JSON.parse(run.terminationMessage ?? ''));
    expect(result.task_id).toBe(run.taskId);
  });

  it('names every field of the Job it cannot honour', () => {
    expect(run.unhonoured).toEqual([
      'spec.containers[agent].image',
      'spec.containers[agent].imagePullPolicy',
      'spec.containers[agent].resources',
      'spec.dnsPolicy',
      'spec.initContainers[credential-proxy].image',
      'spec.initContainers[credential-proxy].imagePullPolicy',
      'spec.initContainers[credential-proxy].resources',
      'spec.securityContext.seccompProfile',
      'spec.volumes[cache].emptyDir.sizeLimit',
      'spec.volumes[proxy-tmp].emptyDir.sizeLimit',
      'spec.volumes[tmp].emptyDir.sizeLimit',
      'spec.volumes[workspace].emptyDir.sizeLimit',
    ]);
  });
});
