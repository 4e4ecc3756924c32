import { z } from 'zod';

export const TemplateId = z.enum(['java-backend', 'python-backend', 'react-frontend', 'general-research']);
export type TemplateId = z.infer<typeof TemplateId>;

export const Complexity = z.enum(['low', 'medium', 'high']);
export type Complexity = z.infer<typeof Complexity>;

/** How the orchestrator's router decided to handle a task. The model fills it through a tool call. */
export const RouterPlan = z.object({
  template_id: TemplateId.describe('Runner template: the toolchain image and defaults for this kind of repository'),
  complexity: Complexity.describe('Expected effort; sets the Job resources and deadline'),
  required_skills: z
    .array(z.string().min(1).max(64))
    .max(12)
    .describe('Short skill names the coder needs, e.g. "spring-boot", "sql", "react-hooks"'),
  context_summary: z
    .string()
    .min(1)
    .max(2000)
    .describe('What is wrong and where to start looking, in a few sentences for the coding agent'),
});
export type RouterPlan = z.infer<typeof RouterPlan>;

/** Whether the plan came from the model or from the rule-based fallback. */
export const RoutedBy = z.enum(['llm', 'rules']);
export type RoutedBy = z.infer<typeof RoutedBy>;
