import type { FinishedTask } from '../outcomes/finished-task.ts';

/** One thing to deliver about one task's outcome: a comment, an event. */
export interface Delivery {
  /** Who delivers it (the metric's `reporter` label): jira, datadog. */
  reporter: string;
  taskId: string;
  /** What it is, for the logs: "comment on ORD-42". */
  what: string;
  /** Sends it once; throws (a ReportError says whether to try again). Aborted at the attempt's timeout. */
  send(signal: AbortSignal): Promise<void>;
}

/** Tells the place a task came from what became of it. One module per source. */
export interface Reporter {
  /** Its queue's name and the `reporter` label of its deliveries. */
  readonly name: string;
  /** What to deliver about this outcome, in order; none is fine. */
  deliveries(finished: FinishedTask): Delivery[];
}
