import type { KubeObject } from './resources.ts';

// What the API server fills in on a Job before validating it (pkg/apis/batch/v1/defaults.go,
// pkg/apis/core/v1/defaults.go, and the Job strategy's PrepareForCreate), so clients that read the
// Job back see what a real cluster shows them.

type Json = Record<string, unknown>;

export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';

const obj = (value: unknown): Json => (value && typeof value === 'object' ? (value as Json) : {});

/** The object at `parent[key]`, created empty when missing. */
function child(parent: Json, key: string): Json {
  if (!parent[key] || typeof parent[key] !== 'object') parent[key] = {};
  return parent[key] as Json;
}

function imagePullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(container: Json): void {
  container.terminationMessagePath ??= '/dev/termination-log';
  container.terminationMessagePolicy ??= 'File';
  container.imagePullPolicy ??= imagePullPolicy(container.image);
  container.resources ??= {};
  for (const port of (container.ports as Json[] | undefined) ?? []) port.protocol ??= 'TCP';
  for (const entry of (container.env as Json[] | undefined) ?? []) {
    const fieldRef = obj(entry.valueFrom).fieldRef as Json | undefined;
    if (fieldRef) fieldRef.apiVersion ??= 'v1';
  }
}

export function defaultPodSpec(spec: Json): void {
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.restartPolicy ??= 'Always';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.terminationGracePeriodSeconds ??= 30;
  for (const key of ['containers', 'initContainers']) {
    for (const container of (spec[key] as Json[] | undefined) ?? []) defaultContainer(container);
  }
  for (const volume of (spec.volumes as Json[] | undefined) ?? []) {
    for (const key of ['configMap', 'secret']) {
      const source = volume[key] as Json | undefined;
      if (source) source.defaultMode ??= 420;
    }
  }
}

/** SetDefaults_Job plus the pod template defaults. */
export function defaultJob(job: KubeObject): void {
  const spec = child(job, 'spec');
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex === undefined ? 6 : 2147483647;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  for (const rule of (obj(spec.podFailurePolicy).rules as Json[] | undefined) ?? []) {
    for (const pattern of (rule.onPodConditions as Json[] | undefined) ?? []) pattern.status ??= 'True';
  }
  const template = child(spec, 'template');
  const templateMeta = child(template, 'metadata');
  // A Job without labels of its own takes its pod template's.
  if (!job.metadata.labels || Object.keys(job.metadata.labels).length === 0) {
    const labels = templateMeta.labels as Record<string, string> | undefined;
    if (labels && Object.keys(labels).length > 0) job.metadata.labels = { ...labels };
  }
  defaultPodSpec(child(template, 'spec'));
}

/** PrepareForCreate: the generated selector and the pod template labels it selects on. */
export function generateJobSelector(job: KubeObject): void {
  const spec = job.spec as Json;
  if (spec.manualSelector === true) return;
  const uid = job.metadata.uid ?? '';
  const name = job.metadata.name ?? '';
  spec.selector = { matchLabels: { [CONTROLLER_UID_LABEL]: uid } };
  const templateMeta = obj(obj(spec.template).metadata);
  templateMeta.labels = {
    ...(templateMeta.labels as Record<string, string> | undefined),
    [LEGACY_CONTROLLER_UID_LABEL]: uid,
    [LEGACY_JOB_NAME_LABEL]: name,
    [CONTROLLER_UID_LABEL]: uid,
    [JOB_NAME_LABEL]: name,
  };
}
