import { type AgentTask, ANNOTATIONS, LABELS, RoutedBy, Source, TaskOutcome, TemplateId } from '@anton/contracts';
import type { V1Job } from '@kubernetes/client-node';
import type { DispatchRequest } from '../dispatch/dispatcher.ts';
import type { RunOutcome } from './decide-outcome.ts';

/** A task whose runner has ended: its outcome, and what the reporters say about the task. */
export interface FinishedTask {
  outcome: TaskOutcome;
  title: string | undefined;
  url: string | undefined;
  /** The task's labels: Datadog tags, JIRA project and labels, Sonar project and branch. */
  labels: Record<string, string>;
  /** The incident's deduplication hash: its claim, and Datadog's aggregation key. */
  dedupHash: string | undefined;
}

/** What is known of the task besides how its run ended. */
export interface FinishedTaskInput {
  taskId: string;
  source: Source;
  externalId: string;
  templateId?: TemplateId | undefined;
  routedBy?: RoutedBy | undefined;
  title?: string | undefined;
  url?: string | undefined;
  labels?: Record<string, string> | undefined;
  dedupHash?: string | undefined;
}

export function finishedTask(input: FinishedTaskInput, run: RunOutcome, finishedAt: Date): FinishedTask {
  const outcome = TaskOutcome.parse({
    task_id: input.taskId,
    source: input.source,
    external_id: input.externalId,
    status: run.status,
    ...(input.templateId !== undefined && { template_id: input.templateId }),
    ...(input.routedBy !== undefined && { routed_by: input.routedBy }),
    ...(run.pr_url !== undefined && { pr_url: run.pr_url }),
    ...(run.reason !== undefined && { reason: run.reason }),
    ...(run.usage !== undefined && { usage: run.usage }),
    ...(run.cost_usd !== undefined && { cost_usd: run.cost_usd }),
    finished_at: finishedAt.toISOString(),
    ...(input.title !== undefined && { title: input.title }),
    ...(input.url !== undefined && { url: input.url }),
    ...(input.labels !== undefined && { labels: input.labels }),
    ...(input.dedupHash !== undefined && { dedup_hash: input.dedupHash }),
  });
  return finishedFromOutcome(outcome);
}

/** The finished task a `task.completed` message describes: all of it travels in the message. */
export function finishedFromOutcome(outcome: TaskOutcome): FinishedTask {
  return {
    outcome,
    title: outcome.title,
    url: outcome.url,
    labels: outcome.labels ?? {},
    dedupHash: outcome.dedup_hash,
  };
}

/**
 * The task a runner Job is for: the Job's labels and annotations, completed by the AgentTask from
 * its task.json when the context ConfigMap is still there (it holds the labels and the dedup key
 * the Job does not). Undefined for a Job without anton's labels.
 */
export function jobTaskInput(job: V1Job, task: AgentTask | undefined): FinishedTaskInput | undefined {
  const labels = job.metadata?.labels ?? {};
  const annotations = job.metadata?.annotations ?? {};
  const taskId = labels[LABELS.taskId];
  const source = Source.safeParse(labels[LABELS.source]);
  const externalId = task?.external_id ?? annotations[ANNOTATIONS.externalId];
  if (!taskId || !source.success || !externalId) return undefined;
  const templateId = TemplateId.safeParse(labels[LABELS.template]);
  const routedBy = RoutedBy.safeParse(annotations[ANNOTATIONS.routedBy]);
  return {
    taskId: task?.task_id ?? taskId,
    source: source.data,
    externalId,
    templateId: templateId.success ? templateId.data : undefined,
    routedBy: routedBy.success ? routedBy.data : undefined,
    title: task?.title ?? annotations[ANNOTATIONS.title],
    url: task?.url ?? annotations[ANNOTATIONS.url],
    labels: task?.labels,
    dedupHash: labels[LABELS.dedupHash],
  };
}

/** The task a local run is for: all of it is in the request it was dispatched with. */
export function dispatchedTaskInput({ task, plan, routedBy, dedupHash }: DispatchRequest): FinishedTaskInput {
  return {
    taskId: task.task_id,
    source: task.source,
    externalId: task.external_id,
    templateId: plan.template_id,
    routedBy,
    title: task.title,
    url: task.url,
    labels: task.labels,
    dedupHash,
  };
}
