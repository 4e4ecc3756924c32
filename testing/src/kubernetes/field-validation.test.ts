import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeKubernetes } from './fake-kubernetes.ts';
import { runnerJob } from './runner-job-manifest.ts';

// Raw HTTP: @kubernetes/client-node's typed calls drop unknown fields before they are sent.
const ns = 'agents';
let fake: FakeKubernetes;

beforeAll(async () => {
  fake = await FakeKubernetes.start();
});
afterAll(async () => {
  await fake.close();
});

/** The runner Job with a typo'd container field and a field Job specs do not have. */
function misspelledJob(id: string) {
  const job = runnerJob(id) as unknown as {
    spec: { bogus?: number; template: { spec: { containers: Record<string, unknown>[] } } };
  };
  job.spec.bogus = 1;
  const [container] = job.spec.template.spec.containers;
  if (container) container.imagePullPolicyy = 'Always';
  return job;
}

async function post(path: string, body: unknown) {
  const res = await fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { code: res.status, warning: res.headers.get('warning'), body: (await res.json()) as Record<string, unknown> };
}

// In the order the decoder meets them in the body (bogus is added after template).
const UNKNOWN = 'unknown field "spec.template.spec.containers[0].imagePullPolicyy", unknown field "spec.bogus"';

describe('unknown fields (fieldValidation)', () => {
  it('Strict: 400 BadRequest naming every unknown field, nothing created', async () => {
    const answer = await post(`/apis/batch/v1/namespaces/${ns}/jobs?fieldValidation=Strict`, misspelledJob('strict'));
    expect(answer.code).toBe(400);
    expect(answer.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `Job in version "v1" cannot be handled as a Job: strict decoding error: ${UNKNOWN}`,
      reason: 'BadRequest',
      code: 400,
    });
    expect(fake.get('Job', ns, 'agent-job-strict')).toBeUndefined();
  });

  it('Warn (the default): created without the unknown fields, one 299 warning each', async () => {
    const answer = await post(`/apis/batch/v1/namespaces/${ns}/jobs`, misspelledJob('warn'));
    expect(answer.code).toBe(201);
    expect(answer.warning).toBe(
      '299 - "unknown field \\"spec.template.spec.containers[0].imagePullPolicyy\\"", 299 - "unknown field \\"spec.bogus\\""',
    );
    const stored = fake.get('Job', ns, 'agent-job-warn') as unknown as { spec: Record<string, unknown> };
    expect(stored.spec).not.toHaveProperty('bogus');
    expect(JSON.stringify(stored)).not.toContain('imagePullPolicyy');
  });

  it('Ignore: created without them, silently', async () => {
    const answer = await post(`/apis/batch/v1/namespaces/${ns}/jobs?fieldValidation=Ignore`, misspelledJob('ignore'));
    expect(answer.code).toBe(201);
    expect(answer.warning).toBeNull();
    expect(JSON.stringify(fake.get('Job', ns, 'agent-job-ignore'))).not.toContain('bogus');
  });

  it('Strict accepts a body with only known fields', async () => {
    const answer = await post(`/apis/batch/v1/namespaces/${ns}/jobs?fieldValidation=Strict`, runnerJob('clean'));
    expect(answer.code).toBe(201);
    expect(answer.warning).toBeNull();
  });

  it('refuses a fieldValidation value the server does not know with 422', async () => {
    const answer = await post(`/api/v1/namespaces/${ns}/configmaps?fieldValidation=strict`, {
      metadata: { name: 'a' },
    });
    expect(answer.code).toBe(422);
    expect(answer.body.message).toBe(
      'CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn"',
    );
  });
});
