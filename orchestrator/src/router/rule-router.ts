import type { Complexity, Priority, RouterPlan, TemplateId } from '@anton/contracts';
import type { RouteRequest } from './route-request.ts';

const COMPLEXITY_BY_PRIORITY: Record<Priority, Complexity> = { P1: 'high', P2: 'medium', P3: 'medium', P4: 'low' };

const LANGUAGE_TEMPLATES: Array<[RegExp, TemplateId]> = [
  [/^(java|kotlin|scala|groovy)$/i, 'java-backend'],
  [/^python$/i, 'python-backend'],
  [/^(typescript|javascript|tsx|jsx|react|css|html)$/i, 'react-frontend'],
];

/** Words in labels, title or description that point at a stack, with the skill each one names. */
const KEYWORDS: Array<{ template: TemplateId; skill: string; pattern: RegExp }> = [
  { template: 'java-backend', skill: 'java', pattern: /\b(java|jvm|kotlin)\b|\.java\b|NullPointerException/i },
  { template: 'java-backend', skill: 'spring-boot', pattern: /\bspring(-boot)?\b/i },
  { template: 'java-backend', skill: 'maven', pattern: /\b(maven|mvn|pom\.xml)\b/i },
  { template: 'java-backend', skill: 'gradle', pattern: /\bgradle\b/i },
  { template: 'python-backend', skill: 'python', pattern: /\b(python|pip|pytest|traceback)\b|\.py\b/i },
  { template: 'python-backend', skill: 'django', pattern: /\bdjango\b/i },
  { template: 'python-backend', skill: 'fastapi', pattern: /\b(fastapi|flask)\b/i },
  { template: 'react-frontend', skill: 'react', pattern: /\b(react|jsx|tsx)\b/i },
  { template: 'react-frontend', skill: 'typescript', pattern: /\b(typescript|javascript|npm|frontend)\b|\.tsx?\b/i },
  { template: 'react-frontend', skill: 'css', pattern: /\bcss\b/i },
];

/**
 * The plan used when Claude cannot give one: the template from the routing entry, else from the
 * repository's languages, else from keywords in labels and text; complexity from the priority.
 * Deterministic, so a task is never dead-lettered only because the LLM is down.
 */
export function ruleBasedPlan({ task, repository }: RouteRequest): RouterPlan {
  const text = [task.title, task.description ?? '', ...Object.entries(task.labels ?? {}).flat()].join('\n');
  const hits = KEYWORDS.filter((k) => k.pattern.test(text));

  const fromLanguages = (repository.entry?.languages ?? [])
    .map((language) => LANGUAGE_TEMPLATES.find(([pattern]) => pattern.test(language))?.[1])
    .find((template) => template !== undefined);
  const template: TemplateId = repository.entry?.template ?? fromLanguages ?? mostHits(hits) ?? 'general-research';

  const skills = [...new Set(hits.filter((k) => k.template === template).map((k) => k.skill))];
  const summary = `${task.source} ${task.external_id}: ${task.title}`.slice(0, 1500);
  return {
    template_id: template,
    complexity: COMPLEXITY_BY_PRIORITY[task.priority],
    required_skills: skills.slice(0, 12),
    context_summary: `${summary}\n(Planned by rules because the LLM router was unavailable; read the task description.)`,
  };
}

function mostHits(hits: typeof KEYWORDS): TemplateId | undefined {
  const counts = new Map<TemplateId, number>();
  for (const hit of hits) counts.set(hit.template, (counts.get(hit.template) ?? 0) + 1);
  let best: TemplateId | undefined;
  for (const [template, count] of counts) if (best === undefined || count > (counts.get(best) ?? 0)) best = template;
  return best;
}
