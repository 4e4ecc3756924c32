import type { Logger } from 'pino';
import type { FallbackReason, Metrics } from '../metrics.ts';
import { InvalidRouterAnswerError } from './claude-router.ts';
import type { RoutedPlan, RouteRequest } from './route-request.ts';
import { ruleBasedPlan } from './rule-router.ts';

/** What plans a task with a model; `undefined` when no API key is configured. */
export interface PlanSource {
  plan(request: RouteRequest, logger: Logger): Promise<RoutedPlan['plan']>;
}

/**
 * A plan for every task: Claude's when it gives a valid one, the rules' otherwise (no key, Claude
 * down after the SDK's retries, or two invalid answers). A routing entry's fixed template wins
 * over either. Never throws: the LLM being down must not dead-letter a task.
 */
export async function routeTask(
  request: RouteRequest,
  { llm, logger, metrics }: { llm: PlanSource | undefined; logger: Logger; metrics: Metrics },
): Promise<RoutedPlan> {
  const started = performance.now();
  let routed: RoutedPlan;
  let fallback: FallbackReason | undefined;
  if (!llm) {
    fallback = 'not_configured';
    routed = { plan: ruleBasedPlan(request), routedBy: 'rules' };
  } else {
    try {
      routed = { plan: await llm.plan(request, logger), routedBy: 'llm' };
    } catch (err) {
      fallback = err instanceof InvalidRouterAnswerError ? 'invalid_answer' : 'unavailable';
      logger.warn({ err, fallback }, 'router failed, planning by rules');
      routed = { plan: ruleBasedPlan(request), routedBy: 'rules' };
    }
  }
  const fixed = request.repository.entry?.template;
  if (fixed) routed = { ...routed, plan: { ...routed.plan, template_id: fixed } };

  if (fallback) metrics.routingFallbacks.inc({ reason: fallback });
  metrics.routingSeconds.observe({ routed_by: routed.routedBy }, (performance.now() - started) / 1000);
  logger.info(
    { routed_by: routed.routedBy, template_id: routed.plan.template_id, complexity: routed.plan.complexity },
    'task routed',
  );
  return routed;
}
