import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentTask, Complexity, RoutedBy, TemplateId } from '@anton/contracts';
import type { V1Container, V1Job } from '@kubernetes/client-node';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentEnv } from '../test/agent-env.ts';
import { makeTask } from '../test/tasks.ts';
import { JobRenderError, JobRenderer, type JobRequest, type JobSettings } from './render-job.ts';
import { DEFAULT_BUDGET } from './task-budget.ts';

const templatesDir = fileURLToPath(new URL('../templates', import.meta.url));
const hash = 'a'.repeat(63);
const settings: JobSettings = {
  namespace: 'agents',
  images: {
    runner: 'registry.example/anton-runner:1.2.3',
    agents: {
      'react-frontend': 'registry.example/anton-runner-node:1.2.3',
      'python-backend': 'registry.example/anton-runner-python:1.2.3',
      'java-backend': 'registry.example/anton-runner-java:1.2.3',
      'general-research': 'registry.example/anton-runner:1.2.3',
    },
  },
  upstreams: { GITHUB_API_URL: 'https://github.example/api/v3' },
  budget: DEFAULT_BUDGET,
};

function request(overrides: Partial<JobRequest> = {}): JobRequest {
  return {
    task: makeTask({ task_id: '4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d', priority: 'P1' }),
    templateId: 'python-backend',
    complexity: 'medium',
    routedBy: 'llm',
    repositoryUrl: 'https://github.com/acme/orders.git',
    dedupHash: hash,
    ...overrides,
  };
}

const container = (job: V1Job, name: string): V1Container => {
  const spec = job.spec?.template.spec;
  const found = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
};

let renderer: JobRenderer;
beforeAll(async () => {
  renderer = await JobRenderer.load(templatesDir);
});

describe('JobRenderer with the shipped templates', () => {
  it('renders the whole Job: identity, labels, annotations, retries, hardening, mounts', () => {
    const job = renderer.render(request(), settings);
    const labels = {
      app: 'anton-runner',
      'task-id': '4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d',
      template: 'python-backend',
      'app.kubernetes.io/name': 'anton-runner',
      'app.kubernetes.io/managed-by': 'anton-orchestrator',
      'anton.dev/source': 'jira',
      'anton.dev/priority': 'P1',
      'anton.dev/complexity': 'medium',
      'anton.dev/dedup-hash': hash,
    };
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
    expect(job.metadata).toEqual({
      name: 'agent-job-4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d',
      namespace: 'agents',
      labels,
      annotations: {
        'anton.dev/external-id': 'ORD-42',
        'anton.dev/title': 'NullPointerException in OrderService.total',
        'anton.dev/repository': 'https://github.com/acme/orders.git',
        'anton.dev/url': 'https://acme.atlassian.net/browse/ORD-42',
        'anton.dev/routed-by': 'llm',
      },
    });
    const spec = job.spec;
    expect(spec?.ttlSecondsAfterFinished).toBe(600);
    expect(spec?.backoffLimit).toBe(2);
    expect(spec?.activeDeadlineSeconds).toBe(2400);
    expect(spec?.podFailurePolicy?.rules).toEqual([
      { action: 'FailJob', onExitCodes: { containerName: 'agent', operator: 'In', values: [2] } },
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    ]);
    expect(spec?.template.metadata?.labels).toEqual(labels);

    const pod = spec?.template.spec;
    expect(pod?.restartPolicy).toBe('Never');
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod?.containers.map((c) => c.name)).toEqual(['agent']);
    expect(pod?.initContainers?.map((c) => c.name)).toEqual(['credential-proxy']);
    expect(pod?.volumes).toEqual([
      { name: 'context', configMap: { name: 'agent-ctx-4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d' } },
      { name: 'workspace', emptyDir: { sizeLimit: '4Gi' } },
      { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
      // Package caches get the workspace's size, not the 1 GiB /tmp.
      { name: 'cache', emptyDir: { sizeLimit: '4Gi' } },
      { name: 'proxy-tmp', emptyDir: { sizeLimit: '64Mi' } },
    ]);
  });

  it('gives the agent container its env and no secret', () => {
    const agent = container(renderer.render(request(), settings), 'agent');
    expect(agent.image).toBe('registry.example/anton-runner-python:1.2.3');
    expect(agent.command).toEqual(['tini', '--', 'node', 'dist/main.js']);
    expect(agent.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    expect(agent.env).toEqual(agentEnv('4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d', 'python-backend', 'medium'));
    expect(agent.envFrom).toBeUndefined();
    expect(agent.resources).toEqual({
      requests: { cpu: '500m', memory: '512Mi' },
      limits: { cpu: '2', memory: '2Gi' },
    });
    // Root with three capabilities only: to run the agent's commands as AGENT_UID and kill them.
    expect(agent.securityContext).toEqual({
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'], add: ['SETUID', 'SETGID', 'KILL'] },
    });
    expect(agent.volumeMounts).toEqual([
      { name: 'context', mountPath: '/app/context', readOnly: true },
      { name: 'workspace', mountPath: '/app/workspace' },
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'cache', mountPath: '/app/cache' },
    ]);
  });

  it('keeps the agent away from the proxy’s processes, the node and the service account', () => {
    // The keys are only in the proxy container's environment: with a shared process namespace the
    // agent could read them from /proc/<proxy pid>/environ; with a token, call the API server.
    const pod = renderer.render(request(), settings).spec?.template.spec;
    expect(pod?.shareProcessNamespace).toBeUndefined();
    expect(pod?.hostPID ?? pod?.hostIPC ?? pod?.hostNetwork).toBeUndefined();
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.volumes?.filter((volume) => volume.secret || volume.projected)).toEqual([]);
  });

  it('gives the keys from anton-secrets to the credential-proxy sidecar only', () => {
    const proxy = container(renderer.render(request(), settings), 'credential-proxy');
    const secret = (key: string) => ({ secretKeyRef: { name: 'anton-secrets', key } });
    expect(proxy.restartPolicy).toBe('Always');
    expect(proxy.image).toBe('registry.example/anton-runner:1.2.3');
    expect(proxy.command).toEqual(['tini', '--', 'node', 'dist/credential-proxy/main.js']);
    expect(proxy.env).toEqual([
      { name: 'TASK_ID', value: '4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d' },
      { name: 'PROXY_PORT', value: '8181' },
      { name: 'ALLOWED_REPOSITORY', value: 'https://github.com/acme/orders.git' },
      { name: 'TASK_BUDGET_USD', value: '3' },
      { name: 'ANTHROPIC_API_KEY', valueFrom: secret('anthropic-api-key') },
      { name: 'OPENAI_API_KEY', valueFrom: secret('openai-api-key') },
      { name: 'GITHUB_TOKEN', valueFrom: secret('github-token') },
      { name: 'GITHUB_API_URL', value: 'https://github.example/api/v3' },
    ]);
    // Run inside the container: the proxy listens on the pod's loopback, which a tcpSocket probe
    // (sent to the pod IP) never reaches.
    expect(proxy.startupProbe).toMatchObject({ exec: { command: ['node', 'dist/credential-proxy/probe.js'] } });
    expect(proxy.startupProbe?.tcpSocket ?? proxy.startupProbe?.httpGet).toBeUndefined();
    expect(proxy.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(proxy.volumeMounts).toEqual([{ name: 'proxy-tmp', mountPath: '/tmp' }]);
  });

  it('gives the credential proxy the task budget, scaled by complexity', () => {
    const budget = (complexity: 'low' | 'medium' | 'high', scaled = settings) =>
      container(renderer.render(request({ complexity }), scaled), 'credential-proxy').env?.find(
        (e) => e.name === 'TASK_BUDGET_USD',
      )?.value;
    expect([budget('low'), budget('medium'), budget('high')]).toEqual(['1.5', '3', '6']);
    const operator = { ...settings, budget: { usd: 2, scale: { low: 0.25, medium: 1, high: 5 } } };
    expect([budget('low', operator), budget('high', operator)]).toEqual(['0.5', '10']);
  });

  it('sizes resources and deadline by complexity', () => {
    const sized = (complexity: 'low' | 'high') => {
      const job = renderer.render(request({ complexity }), settings);
      return [job.spec?.activeDeadlineSeconds, container(job, 'agent').resources?.limits];
    };
    expect(sized('low')).toEqual([1200, { cpu: '1', memory: '1Gi' }]);
    expect(sized('high')).toEqual([3600, { cpu: '4', memory: '4Gi' }]);
  });

  it("runs each template's agent in its toolchain image and the credential proxy in the runner image", () => {
    for (const templateId of TemplateId.options) {
      const job = renderer.render(request({ templateId }), settings);
      expect(container(job, 'agent').image).toBe(settings.images.agents[templateId]);
      expect(container(job, 'credential-proxy').image).toBe(settings.images.runner);
    }
  });

  it('renders java-backend from its override: the JDK image and JVM settings, the rest unchanged', () => {
    expect(renderer.templateFor('java-backend')).toBe('java-backend.yaml.njk');
    expect(renderer.templateFor('python-backend')).toBe('base_job.yaml.njk');
    const java = renderer.render(request({ templateId: 'java-backend' }), settings);
    const base = renderer.render(request({ templateId: 'python-backend' }), settings);
    const agent = container(java, 'agent');
    expect(agent.image).toBe('registry.example/anton-runner-java:1.2.3');
    expect(agent.env?.map((e) => e.name)).toEqual([
      'TASK_ID',
      'TEMPLATE_ID',
      'COMPLEXITY',
      'CONTEXT_PATH',
      'WORK_DIR',
      'HOME',
      'RUNNER_STATE_DIR',
      'CREDENTIAL_PROXY_URL',
      'AGENT_UID',
      'AGENT_GID',
      'JAVA_TOOL_OPTIONS',
    ]);
    expect(container(java, 'credential-proxy')).toEqual(container(base, 'credential-proxy'));
    expect(java.spec?.template.spec?.volumes).toEqual(base.spec?.template.spec?.volumes);
  });

  it('keeps hostile free text out of the manifest: only the annotations differ', () => {
    const hostile = [
      'Title "with" quotes\' and\nnewlines\r\n',
      '{{ secret.name }} {% raw %}{% endraw %} {# x #}',
      '"\nspec:\n  template:\n    spec:\n      hostNetwork: true\n#',
      "'; rm -rf / ; echo '",
      '!!js/function "x" &a *a ]]] }}} --- ... |\n  - name: evil',
    ].join(' ');
    const benign = renderer.render(request(), settings);
    const task = makeTask({
      task_id: '4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d',
      priority: 'P1',
      title: hostile,
      description: hostile,
      external_id: hostile,
      url: hostile,
      labels: { [hostile]: hostile },
    });
    const job = renderer.render(request({ task }), settings);
    expect(job.metadata?.annotations?.['anton.dev/title']).toBe(hostile.slice(0, 500));
    expect(job.metadata?.annotations?.['anton.dev/external-id']).toBe(hostile.slice(0, 500));
    expect(job.metadata?.annotations?.['anton.dev/url']).toBe(hostile);
    expect({ ...job, metadata: { ...job.metadata, annotations: {} } }).toEqual({
      ...benign,
      metadata: { ...benign.metadata, annotations: {} },
    });
  });

  it('renders the same Job, annotations aside, for any free text (property-based)', () => {
    const hostile = fc.constantFrom(
      '{{ secret.name }}',
      '{% for x in range(9999999) %}{% endfor %}',
      '{{ "".constructor.constructor("return process")() }}',
      `\${{ runner_app }}`,
      '"\nspec:\n  template:\n    spec:\n      hostNetwork: true\n#',
      "'\n  - name: evil\n    image: evil:latest",
      '---\napiVersion: v1\nkind: Pod',
      '!!python/object/apply:os.system ["id"]',
      '&anchor *anchor <<: *anchor',
      '\u202Eexe.txt\u202C',
      'a\u200Bb\u200C\u200D\uFEFF',
      '👩‍👩‍👧‍👦🏳️‍🌈💥',
      'nul\u0000byte',
      '\uD800',
      '\r\n\t\v\f',
    );
    const text = fc
      .array(
        fc.oneof(
          hostile,
          fc.string({ unit: 'binary', maxLength: 40 }),
          fc.string({ minLength: 10_000, maxLength: 10_240 }),
        ),
        {
          maxLength: 6,
        },
      )
      .map((parts) => parts.join(''));
    const id = fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }), text).map(([a, b]) => a + b);
    const free = fc.record({
      title: text,
      external_id: id,
      description: text,
      url: text,
      event: text,
      dedup_key: id,
      labels: fc.dictionary(text, text, { maxKeys: 3 }),
      raw_payload: fc.dictionary(text, text, { maxKeys: 3 }),
    });
    const shape = fc.record({
      templateId: fc.constantFrom(...TemplateId.options),
      complexity: fc.constantFrom(...Complexity.options),
      routedBy: fc.constantFrom(...RoutedBy.options),
    });
    // Everything but the annotations' values, which are the only place free text may appear.
    const structure = (job: V1Job) => ({
      ...job,
      metadata: { ...job.metadata, annotations: Object.keys(job.metadata?.annotations ?? {}) },
    });
    fc.assert(
      fc.property(free, shape, (fields, chosen) => {
        const base = { task_id: '4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d', priority: 'P1' as const };
        const task = AgentTask.parse(makeTask({ ...base, ...fields }));
        const job = renderer.render(request({ task, ...chosen }), settings);
        const plain = renderer.render(request({ task: makeTask(base), ...chosen }), settings);
        expect(structure(job)).toEqual(structure(plain));
        expect(job.metadata?.annotations).toEqual({
          'anton.dev/external-id': fields.external_id.slice(0, 500),
          'anton.dev/title': fields.title.slice(0, 500),
          'anton.dev/repository': 'https://github.com/acme/orders.git',
          'anton.dev/url': fields.url.slice(0, 2000),
          'anton.dev/routed-by': chosen.routedBy,
        });
        // And it survives the trip to the API server as JSON unchanged.
        expect(JSON.parse(JSON.stringify(job))).toEqual(job);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses values that are not what they claim to be', () => {
    const bad =
      (overrides: Partial<JobRequest>, badSettings: Partial<JobSettings> = {}) =>
      () =>
        renderer.render(request(overrides), { ...settings, ...badSettings });
    expect(bad({ repositoryUrl: 'https://github.com/acme/x\n  hostNetwork: true' })).toThrow(JobRenderError);
    expect(bad({ repositoryUrl: '--upload-pack=evil' })).toThrow(/allowed_repository/);
    expect(bad({ dedupHash: 'not-a-hash' })).toThrow(/dedup_hash/);
    expect(bad({ templateId: 'cobol' as 'java-backend' })).toThrow(/template_id/);
    expect(bad({ task: makeTask({ task_id: 'x"; evil' }) })).toThrow(/task_id/);
    expect(bad({}, { namespace: 'Agents' })).toThrow(/namespace/);
    expect(bad({}, { images: { ...settings.images, runner: 'anton runner' } })).toThrow(/images\.runner/);
    expect(
      bad({}, { images: { ...settings.images, agents: { ...settings.images.agents, 'python-backend': 'a b' } } }),
    ).toThrow(/images\.agent/);
    expect(bad({}, { upstreams: { OPENAI_BASE_URL: 'https://x/"y' } })).toThrow(/upstreams/);
  });

  it('names Jobs in lowercase whatever the case of the task id', () => {
    const task = makeTask({ task_id: '4F6C1F0E-8A3B-4C1E-9D2A-7B5E6F8A9C0D' });
    const job = renderer.render(request({ task }), settings);
    expect(job.metadata?.name).toBe('agent-job-4f6c1f0e-8a3b-4c1e-9d2a-7b5e6f8a9c0d');
    expect(job.metadata?.labels?.['task-id']).toBe('4F6C1F0E-8A3B-4C1E-9D2A-7B5E6F8A9C0D');
  });
});

describe('JobRenderer with override templates', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'job-templates-'));
    await cp(templatesDir, dir, { recursive: true });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('uses <template_id>.yaml.njk when present, the base otherwise', async () => {
    await writeFile(
      join(dir, 'react-frontend.yaml.njk'),
      '{% extends "base_job.yaml.njk" %}{% block agent_image %}"node:24-slim"{% endblock %}',
    );
    const custom = await JobRenderer.load(dir);
    expect(container(custom.render(request({ templateId: 'react-frontend' }), settings), 'agent').image).toBe(
      'node:24-slim',
    );
    expect(container(custom.render(request(), settings), 'agent').image).toBe(settings.images.agents['python-backend']);
  });

  it('rejects an override that renames, relabels or breaks the Job', async () => {
    await writeFile(
      join(dir, 'general-research.yaml.njk'),
      '{% extends "base_job.yaml.njk" %}{% block agent_image %}"x"\n  name: "other-job"{% endblock %}',
    );
    await writeFile(join(dir, 'react-frontend.yaml.njk'), 'apiVersion: batch/v1\nkind: Job\nmetadata: {}\n');
    await writeFile(
      join(dir, 'python-backend.yaml.njk'),
      '{% extends "base_job.yaml.njk" %}{% block agent_env %}\n            - value: "no name"{% endblock %}',
    );
    const custom = await JobRenderer.load(dir);
    expect(() => custom.render(request({ templateId: 'general-research' }), settings)).toThrow(JobRenderError);
    expect(() => custom.render(request({ templateId: 'react-frontend' }), settings)).toThrow(/name is not agent-job-/);
    expect(() => custom.render(request({ templateId: 'python-backend' }), settings)).toThrow(/not valid/);
  });

  it('fails at load when a template does not compile, naming it', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'job-templates-broken-'));
    try {
      await cp(templatesDir, broken, { recursive: true });
      await writeFile(
        join(broken, 'react-frontend.yaml.njk'),
        '{% extends "base_job.yaml.njk" %}{% block agent_image %}',
      );
      await expect(JobRenderer.load(broken)).rejects.toThrow(/cannot compile react-frontend\.yaml\.njk/);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('fails at load when the base template is missing', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'job-templates-empty-'));
    try {
      await expect(JobRenderer.load(empty)).rejects.toThrow(/base_job\.yaml\.njk/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
