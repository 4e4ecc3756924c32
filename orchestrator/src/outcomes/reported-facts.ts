import { branchNameFor, issueIdOf, type RunnerResult } from '@anton/contracts';

/** What the orchestrator itself knows of a run's task, against which the runner's report is checked. */
export interface RunTask {
  taskId: string;
  /** The repository the task was dispatched for (the Job's annotation); undefined when it is not known. */
  repositoryUrl: string | undefined;
  /** The one branch the run may push: `fix/<issue id>`. */
  branch: string;
}

export function runTask(taskId: string, externalId: string, repositoryUrl: string | undefined): RunTask {
  return { taskId, repositoryUrl, branch: branchNameFor(issueIdOf(externalId)) };
}

/**
 * Why a runner's result cannot be believed, or undefined when everything in it that can be checked
 * holds. The termination message is written inside the pod the agent worked in, so its task, branch
 * and pull request are compared with what the orchestrator dispatched, never taken on trust: a
 * pull request reported for another repository or branch would otherwise be announced as this fix.
 */
export function distrustedFact(result: RunnerResult, task: RunTask): string | undefined {
  if (result.task_id !== undefined && result.task_id !== task.taskId) {
    return `the runner's result is for another task (${result.task_id})`;
  }
  if (result.branch !== undefined && result.branch !== task.branch) {
    return `the runner reported branch ${result.branch}, not the task's ${task.branch}`;
  }
  if (result.pr_url === undefined) return undefined;
  if (task.repositoryUrl === undefined) {
    return `the reported pull request ${result.pr_url} cannot be checked: the task's repository is not recorded`;
  }
  if (!isPullRequestOf(result.pr_url, task.repositoryUrl)) {
    return `the reported pull request ${result.pr_url} is not one of the task's repository ${task.repositoryUrl}`;
  }
  return undefined;
}

/** `https://github.com/acme/x/pull/7` is a pull request of `https://github.com/acme/x.git`: same origin, owner and name. */
export function isPullRequestOf(prUrl: string, repositoryUrl: string): boolean {
  let pr: URL;
  let repository: URL;
  try {
    pr = new URL(prUrl);
    repository = new URL(repositoryUrl);
  } catch {
    return false;
  }
  if (pr.origin !== repository.origin || pr.username || pr.password || pr.search || pr.hash) return false;
  const slug = repository.pathname
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .toLowerCase();
  const match = /^(\/[^/]+\/[^/]+)\/pull\/[1-9]\d*$/.exec(pr.pathname);
  return match?.[1]?.toLowerCase() === slug;
}
