import type { FinishedTask } from '../outcomes/finished-task.ts';
import type { Delivery } from './report-queue.ts';

/** Tells the place a task came from what became of it. One module per source. */
export interface Reporter {
  /** The `reporter` label of its deliveries. */
  readonly name: string;
  /** What to deliver about this outcome, in order; none is fine. */
  deliveries(finished: FinishedTask): Delivery[];
}
