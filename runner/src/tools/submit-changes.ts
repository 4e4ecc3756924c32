import { z } from 'zod';
import { defineTool } from './tool.ts';

const Input = z.object({
  summary: z
    .string()
    .trim()
    .min(10)
    .max(4000)
    .describe(
      'What was wrong, what you changed and how you verified it (which tests you ran and their result). The ' +
        'first line becomes the commit and pull request title, so make it a short imperative sentence.',
    ),
});

export const submitChangesTool = defineTool({
  name: 'submit_changes',
  description:
    'Finish: hand your changes to review, which may accept them or send them back with comments. Call it only ' +
    "after the project's tests pass with your change. Do not commit or push yourself; the runner does that.",
  inputSchema: Input,
  async execute({ summary }) {
    return { output: 'Changes submitted for review.', submitted: { summary } };
  },
});
