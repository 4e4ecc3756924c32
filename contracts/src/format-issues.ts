import type { z } from 'zod';

/** One line naming each field that failed and why, e.g. `priority: Invalid option: expected one of …`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
