import type { V1ConfigMap, V1Job } from '@kubernetes/client-node';

// Manifests shaped like the ones anton's orchestrator renders (see the brief's cross-service
// design: a native sidecar credential proxy, the agent container, a podFailurePolicy on exit
// code 2), for the fake's tests. Only tests import this file.

export function runnerJob(taskId: string): V1Job {
  const labels = {
    app: 'anton-runner',
    'task-id': taskId,
    template: 'default',
    'app.kubernetes.io/name': 'anton-runner',
    'app.kubernetes.io/managed-by': 'anton-orchestrator',
    'anton.dev/source': 'jira',
    'anton.dev/priority': 'high',
    'anton.dev/complexity': 'simple',
  };
  const secret = (name: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: 'anton-secrets', key } } });
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `agent-job-${taskId}`,
      labels,
      annotations: { 'anton.dev/title': 'Fix the discount', 'anton.dev/repository': 'acme/shop' },
    },
    spec: {
      backoffLimit: 2,
      activeDeadlineSeconds: 1800,
      ttlSecondsAfterFinished: 3600,
      podFailurePolicy: {
        rules: [{ action: 'FailJob', onExitCodes: { containerName: 'agent', operator: 'In', values: [2] } }],
      },
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          securityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 },
          initContainers: [
            {
              name: 'credential-proxy',
              image: 'anton-runner:1.0.0',
              restartPolicy: 'Always',
              command: ['node', 'dist/credential-proxy/main.js'],
              env: [
                secret('ANTHROPIC_API_KEY', 'anthropic-api-key'),
                secret('OPENAI_API_KEY', 'openai-api-key'),
                secret('GITHUB_TOKEN', 'github-token'),
                { name: 'PROXY_PORT', value: '8181' },
              ],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
            },
          ],
          containers: [
            {
              name: 'agent',
              image: 'anton-runner:1.0.0',
              command: ['node', 'dist/main.js'],
              env: [
                { name: 'TASK_ID', value: taskId },
                { name: 'CONTEXT_PATH', value: '/app/context/task.json' },
                { name: 'CREDENTIAL_PROXY_URL', value: 'http://127.0.0.1:8181' },
              ],
              resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '2Gi' } },
              volumeMounts: [
                { name: 'context', mountPath: '/app/context', readOnly: true },
                { name: 'workspace', mountPath: '/app/workspace' },
              ],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
          volumes: [
            { name: 'context', configMap: { name: `agent-ctx-${taskId}` } },
            { name: 'workspace', emptyDir: {} },
          ],
        },
      },
    },
  };
}

export function contextConfigMap(taskId: string, owner?: { name: string; uid: string }): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `agent-ctx-${taskId}`,
      labels: { app: 'anton-runner', 'task-id': taskId },
      ...(owner
        ? {
            ownerReferences: [
              { apiVersion: 'batch/v1', kind: 'Job', name: owner.name, uid: owner.uid, controller: true },
            ],
          }
        : {}),
    },
    data: { 'task.json': JSON.stringify({ repo_url: 'https://github.com/acme/shop.git', task_description: 'fix it' }) },
  };
}
