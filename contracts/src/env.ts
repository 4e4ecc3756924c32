import { z } from 'zod';
import { formatIssues } from './format-issues.ts';

/** Building blocks for each service's environment schema, so every service reads variables alike. */
export const env = {
  /** `info`, or the original's `INFO`: log levels are case-insensitive. */
  logLevel: z
    .string()
    .default('info')
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])),
  int: (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback),
  flag: z
    .enum(['0', '1', 'true', 'false', ''])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
  /** Unset and empty both mean "not configured". */
  optional: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? undefined : v)),
  list: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once at start; the error is one line naming each bad variable. */
export function parseEnv<S extends z.ZodType>(schema: S, source: Record<string, string | undefined>): z.output<S> {
  const result = schema.safeParse(source);
  if (!result.success) throw new ConfigError(`invalid configuration: ${formatIssues(result.error)}`);
  return result.data;
}
