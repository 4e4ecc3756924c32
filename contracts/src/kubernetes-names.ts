/**
 * Names the orchestrator gives its Kubernetes objects, which the deploy manifests, the Job watcher
 * and operators' kubectl commands select on. interfaces.md fixes them.
 */
export const RUNNER_APP = 'anton-runner';
export const ORCHESTRATOR_NAME = 'anton-orchestrator';

export const LABELS = {
  app: 'app',
  taskId: 'task-id',
  template: 'template',
  name: 'app.kubernetes.io/name',
  managedBy: 'app.kubernetes.io/managed-by',
  source: 'anton.dev/source',
  priority: 'anton.dev/priority',
  complexity: 'anton.dev/complexity',
  /** sha256 of the task's dedup_key, truncated to fit a label value: the deduplication state. */
  dedupHash: 'anton.dev/dedup-hash',
  /** The task's outcome once its Job ended (an OutcomeStatus), so `kubectl get jobs -L` shows it. */
  result: 'anton.dev/result',
} as const;

export const ANNOTATIONS = {
  externalId: 'anton.dev/external-id',
  title: 'anton.dev/title',
  repository: 'anton.dev/repository',
  url: 'anton.dev/url',
  routedBy: 'anton.dev/routed-by',
  result: 'anton.dev/result',
  prUrl: 'anton.dev/pr-url',
  /** Why the run failed, timed out or changed nothing (shortened), for `kubectl describe job`. */
  reason: 'anton.dev/reason',
} as const;

export const SECRET_NAME = 'anton-secrets';
export const SECRET_KEYS = {
  anthropicApiKey: 'anthropic-api-key',
  openaiApiKey: 'openai-api-key',
  githubToken: 'github-token',
  /** One webhook secret per source (deploy/k8s/base/secret.example.yaml). */
  jiraWebhookSecret: 'jira-webhook-secret',
  datadogWebhookSecret: 'datadog-webhook-secret',
  sonarWebhookSecret: 'sonar-webhook-secret',
} as const;

export const CONTEXT_DIR = '/app/context';
export const CONTEXT_FILE = 'task.json';
export const CONTEXT_PATH = `${CONTEXT_DIR}/${CONTEXT_FILE}`;

export const jobName = (taskId: string): string => `agent-job-${taskId}`;
export const contextConfigMapName = (taskId: string): string => `agent-ctx-${taskId}`;
