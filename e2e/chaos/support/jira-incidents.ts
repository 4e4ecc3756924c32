import { LABELS, type TaskOutcome } from '@anton/contracts';
import { type KubeObject, waitFor } from '@anton/testing';
import { expect } from 'vitest';
import type { Pipeline } from '../../src/harness/pipeline.ts';
import { jiraIssueCreated } from '../../src/harness/sample-webhooks.ts';

export interface Reported {
  taskId: string;
  /** The branch its runner pushes: fix/SHOP-<n>. */
  branch: string;
}

/**
 * New Jira issues about the sample bug, one per case (each its own incident, so no case is
 * deduplicated against another), and what became of each across the pipeline.
 */
export class JiraIncidents {
  readonly #pipeline: Pipeline;
  #number: number;

  constructor(pipeline: Pipeline, firstNumber: number) {
    this.#pipeline = pipeline;
    this.#number = firstNumber;
  }

  async report(): Promise<Reported> {
    this.#number += 1;
    const reply = await this.#pipeline.postWebhook('jira', jiraIssueCreated(this.#number));
    expect(reply.status, JSON.stringify(reply.body)).toBe(202);
    return { taskId: String(reply.body.task_id), branch: `fix/SHOP-${this.#number}` };
  }

  /** The task's `task.completed`, once its Job has ended and the orchestrator decided its outcome. */
  outcomeOf(taskId: string): Promise<TaskOutcome> {
    return waitFor(() => this.outcomes(taskId)[0], {
      timeoutMs: 90_000,
      intervalMs: 100,
      what: `the outcome of ${taskId}`,
    });
  }

  outcomes(taskId: string): TaskOutcome[] {
    return (this.#pipeline.outcomes.bodies() as TaskOutcome[]).filter((outcome) => outcome.task_id === taskId);
  }

  jobsOf(taskId: string): KubeObject[] {
    return this.#pipeline.runnerJobs().filter((job) => job.metadata.labels?.[LABELS.taskId] === taskId);
  }

  pullsOf(branch: string) {
    return this.#pipeline.github.pulls('acme', 'sample-shop').filter((pull) => pull.head === branch);
  }

  /** The ending every case must reach: one Job, one pull request, one outcome, pr_opened. */
  async expectFixedOnce({ taskId, branch }: Reported): Promise<TaskOutcome> {
    const outcome = await this.outcomeOf(taskId);
    expect(outcome, JSON.stringify(outcome)).toMatchObject({ status: 'pr_opened' });
    expect(this.jobsOf(taskId)).toHaveLength(1);
    expect(this.pullsOf(branch)).toHaveLength(1);
    expect(this.outcomes(taskId)).toHaveLength(1);
    return outcome;
  }
}
