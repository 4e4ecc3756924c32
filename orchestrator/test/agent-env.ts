/**
 * The env of a runner Job's `agent` container, in order, as the cross-service design fixes it:
 * the task and its plan, the mounted context and workspace, where the runner keeps its private git
 * directory, the credential proxy (no secret), and
 * the unprivileged user the runner runs the agent's commands as.
 */
export function agentEnv(taskId: string, templateId: string, complexity: string): { name: string; value: string }[] {
  return [
    { name: 'TASK_ID', value: taskId },
    { name: 'TEMPLATE_ID', value: templateId },
    { name: 'COMPLEXITY', value: complexity },
    { name: 'CONTEXT_PATH', value: '/app/context/task.json' },
    { name: 'WORK_DIR', value: '/app/workspace' },
    { name: 'HOME', value: '/tmp' },
    { name: 'RUNNER_STATE_DIR', value: '/tmp' },
    { name: 'CREDENTIAL_PROXY_URL', value: 'http://127.0.0.1:8181' },
    { name: 'AGENT_UID', value: '10001' },
    { name: 'AGENT_GID', value: '10001' },
  ];
}
