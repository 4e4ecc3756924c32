import { readdir } from 'node:fs/promises';
import {
  type AgentTask,
  ANNOTATIONS,
  CONTEXT_DIR,
  CONTEXT_PATH,
  Complexity,
  contextConfigMapName,
  isCredentialSafe,
  jobName,
  LABELS,
  ORCHESTRATOR_NAME,
  Priority,
  type RoutedBy,
  RUNNER_APP,
  SECRET_KEYS,
  SECRET_NAME,
  Source,
  TemplateId,
} from '@anton/contracts';
import type { V1Job } from '@kubernetes/client-node';
import { load as parseYaml } from 'js-yaml';
import { Job } from 'kubernetes-models/batch/v1';
import nunjucks from 'nunjucks';
import { z } from 'zod';
import { DnsLabel, ImageReference, UPSTREAM_NAMES, type UpstreamName, UpstreamUrl } from './job-values.ts';
import { type BudgetConfig, taskBudgetUsd } from './task-budget.ts';

export const PROXY_PORT = 8181;
/** The pod's unprivileged user and group (the images' USER, the pod's fsGroup): the agent's commands run as it. */
export const AGENT_ID = 10001;
export const WORK_DIR = '/app/workspace';

/** Requests, limits, deadline and workspace size per complexity; medium is the original's sizing. */
export const RESOURCES: Record<
  Complexity,
  {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
    deadline_seconds: number;
    workspace: string;
  }
> = {
  low: {
    requests: { cpu: '250m', memory: '256Mi' },
    limits: { cpu: '1', memory: '1Gi' },
    deadline_seconds: 1200,
    workspace: '2Gi',
  },
  medium: {
    requests: { cpu: '500m', memory: '512Mi' },
    limits: { cpu: '2', memory: '2Gi' },
    deadline_seconds: 2400,
    workspace: '4Gi',
  },
  high: {
    requests: { cpu: '1', memory: '1Gi' },
    limits: { cpu: '4', memory: '4Gi' },
    deadline_seconds: 3600,
    workspace: '8Gi',
  },
};

/** Cluster-side settings of every Job, from the configuration. */
export interface JobSettings {
  namespace: string;
  /** `runner` runs the credential proxy; each template's agent runs in its toolchain image. */
  images: { runner: string; agents: Record<TemplateId, string> };
  /** Upstream URLs for the credential proxy; unset ones keep the proxy's defaults (the public APIs). */
  upstreams: Partial<Record<UpstreamName, string>>;
  /** The task budget the credential proxy enforces, by complexity. */
  budget: BudgetConfig;
}

export interface JobRequest {
  task: AgentTask;
  templateId: TemplateId;
  complexity: Complexity;
  routedBy: RoutedBy;
  repositoryUrl: string;
  dedupHash: string;
}

/** The only values the template sees. Each is an id, enum, number or name, checked here. */
const TemplateValues = z.object({
  job_name: DnsLabel,
  config_map_name: DnsLabel,
  namespace: DnsLabel,
  task_id: z.uuid(),
  template_id: TemplateId,
  complexity: Complexity,
  source: Source,
  priority: Priority,
  dedup_hash: z.string().regex(/^[0-9a-f]{63}$/),
  /** The one repository the credential proxy adds the token for: never anything but https (loopback http in tests). */
  allowed_repository: UpstreamUrl.refine((url) => URL.canParse(url) && isCredentialSafe(new URL(url)), 'must be https'),
  /** The proxy's image and this template's agent image. */
  images: z.object({ runner: ImageReference, agent: ImageReference }),
  upstreams: z.array(z.object({ name: z.enum(UPSTREAM_NAMES), value: UpstreamUrl })),
  task_budget_usd: z.number().positive().finite(),
});

export class JobRenderError extends Error {
  override name = 'JobRenderError';
}

/** The Job's labels, also carried by its pod and its ConfigMap. */
export function jobLabels(request: JobRequest): Record<string, string> {
  return {
    [LABELS.app]: RUNNER_APP,
    [LABELS.taskId]: request.task.task_id,
    [LABELS.template]: request.templateId,
    [LABELS.name]: RUNNER_APP,
    [LABELS.managedBy]: ORCHESTRATOR_NAME,
    [LABELS.source]: request.task.source,
    [LABELS.priority]: request.task.priority,
    [LABELS.complexity]: request.complexity,
    [LABELS.dedupHash]: request.dedupHash,
  };
}

/** Kubernetes object names are lowercase; a task id in capitals still names one Job. */
export const kubernetesNames = (taskId: string) => ({
  job: jobName(taskId.toLowerCase()),
  configMap: contextConfigMapName(taskId.toLowerCase()),
});

/**
 * Renders `templates/base_job.yaml.njk` (or `<template_id>.yaml.njk` when present), parses the
 * YAML, adds the free-text annotations on the parsed object, and validates the result against the
 * Kubernetes schema before anyone sends it.
 */
export class JobRenderer {
  readonly #env: nunjucks.Environment;
  readonly #overrides: ReadonlySet<string>;

  private constructor(env: nunjucks.Environment, overrides: ReadonlySet<string>) {
    this.#env = env;
    this.#overrides = overrides;
  }

  static async load(templatesDir: string): Promise<JobRenderer> {
    const files = await readdir(templatesDir);
    if (!files.includes(BASE_TEMPLATE)) throw new JobRenderError(`${templatesDir} holds no ${BASE_TEMPLATE}`);
    const overrides = new Set(TemplateId.options.filter((id) => files.includes(`${id}.yaml.njk`)));
    // autoescape is for HTML and would mangle JSON quotes; YAML safety comes from `q` instead.
    const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(templatesDir), {
      autoescape: false,
      throwOnUndefined: true,
    });
    env.addFilter('q', quote);
    // Compiled once, here: the loader caches them, and a template that does not compile stops the
    // start instead of failing every task that uses it.
    for (const name of [BASE_TEMPLATE, ...[...overrides].map((id) => `${id}.yaml.njk`)]) {
      try {
        env.getTemplate(name, true);
      } catch (err) {
        throw new JobRenderError(`cannot compile ${name}: ${(err as Error).message}`, { cause: err });
      }
    }
    return new JobRenderer(env, overrides);
  }

  templateFor(templateId: TemplateId): string {
    return this.#overrides.has(templateId) ? `${templateId}.yaml.njk` : BASE_TEMPLATE;
  }

  render(request: JobRequest, settings: JobSettings): V1Job {
    const names = kubernetesNames(request.task.task_id);
    const values = TemplateValues.safeParse({
      job_name: names.job,
      config_map_name: names.configMap,
      namespace: settings.namespace,
      task_id: request.task.task_id,
      template_id: request.templateId,
      complexity: request.complexity,
      source: request.task.source,
      priority: request.task.priority,
      dedup_hash: request.dedupHash,
      allowed_repository: request.repositoryUrl,
      images: { runner: settings.images.runner, agent: settings.images.agents[request.templateId] },
      upstreams: UPSTREAM_NAMES.flatMap((name) => {
        const value = settings.upstreams[name];
        return value === undefined ? [] : [{ name, value }];
      }),
      task_budget_usd: taskBudgetUsd(settings.budget, request.complexity),
    });
    if (!values.success) {
      throw new JobRenderError(`refusing to render the Job: ${values.error.issues.map(describeIssue).join('; ')}`);
    }
    const context = {
      ...values.data,
      labels: jobLabels(request),
      resources: RESOURCES[values.data.complexity],
      runner_app: RUNNER_APP,
      secret: {
        name: SECRET_NAME,
        anthropic_key: SECRET_KEYS.anthropicApiKey,
        openai_key: SECRET_KEYS.openaiApiKey,
        github_key: SECRET_KEYS.githubToken,
      },
      proxy_port: PROXY_PORT,
      proxy_url: `http://127.0.0.1:${PROXY_PORT}`,
      agent_uid: AGENT_ID,
      agent_gid: AGENT_ID,
      context_dir: CONTEXT_DIR,
      context_path: CONTEXT_PATH,
      work_dir: WORK_DIR,
    };

    let object: V1Job;
    try {
      // js-yaml (YAML 1.2 core schema), not the `yaml` package used elsewhere: parsing the rendered
      // Job was 83% of rendering it, ~1.2 ms per task with `yaml`, ten times less with js-yaml.
      object = parseYaml(this.#env.render(this.templateFor(request.templateId), context)) as V1Job;
    } catch (err) {
      throw new JobRenderError(`cannot render the Job template: ${(err as Error).message}`, { cause: err });
    }
    if (typeof object !== 'object' || object === null) throw new JobRenderError('the Job template rendered no object');
    object.metadata = { ...object.metadata, annotations: jobAnnotations(request) };
    checkIdentity(object, names.job, settings.namespace, jobLabels(request));
    try {
      new Job(object as ConstructorParameters<typeof Job>[0]).validate();
    } catch (err) {
      throw new JobRenderError(`the rendered Job is not valid: ${(err as Error).message}`, { cause: err });
    }
    return object;
  }
}

const BASE_TEMPLATE = 'base_job.yaml.njk';

/** What `kubectl describe job` shows an operator. Free text is fine here: it is data, never YAML. */
function jobAnnotations({ task, repositoryUrl, routedBy }: JobRequest): Record<string, string> {
  return {
    [ANNOTATIONS.externalId]: task.external_id.slice(0, 500),
    [ANNOTATIONS.title]: task.title.slice(0, 500),
    [ANNOTATIONS.repository]: repositoryUrl,
    ...(task.url !== undefined && { [ANNOTATIONS.url]: task.url.slice(0, 2000) }),
    [ANNOTATIONS.routedBy]: routedBy,
  };
}

/** An override template may change the image or env, never what identifies and selects the Job. */
function checkIdentity(job: V1Job, name: string, namespace: string, labels: Record<string, string>): void {
  const problems: string[] = [];
  if (job.apiVersion !== 'batch/v1' || job.kind !== 'Job') problems.push('not a batch/v1 Job');
  if (job.metadata?.name !== name) problems.push(`name is not ${name}`);
  if (job.metadata?.namespace !== namespace) problems.push(`namespace is not ${namespace}`);
  for (const [where, actual] of [
    ['metadata', job.metadata?.labels],
    ['pod template', job.spec?.template?.metadata?.labels],
  ] as const) {
    for (const [key, value] of Object.entries(labels)) {
      if (actual?.[key] !== value) problems.push(`${where} label ${key} is not ${value}`);
    }
  }
  if (problems.length > 0) throw new JobRenderError(`the rendered Job is wrong: ${problems.join('; ')}`);
}

/** The template's only way to write a value: as JSON, which is valid YAML and cannot break out of its place. */
function quote(value: unknown): string {
  const flatStrings =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string');
  if (typeof value === 'string' || typeof value === 'boolean' || Number.isFinite(value) || flatStrings) {
    return JSON.stringify(value);
  }
  throw new JobRenderError(
    `the Job template may only quote strings, numbers and flat string maps, not ${typeof value}`,
  );
}

function describeIssue(issue: z.core.$ZodIssue): string {
  return `${issue.path.map(String).join('.')}: ${issue.message}`;
}
