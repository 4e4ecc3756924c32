import type { AgentTask, RoutedBy, RouterPlan } from '@anton/contracts';
import type { ResolvedRepository } from '../resolve-repository.ts';

/** What the router decides on: the task and the repository it was resolved to. */
export interface RouteRequest {
  task: AgentTask;
  repository: ResolvedRepository;
}

export interface RoutedPlan {
  plan: RouterPlan;
  routedBy: RoutedBy;
}
