import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths that could hold a credential if an object carrying one were ever logged. Redacted by path
 * as a second line of defence: the first is never passing such objects to the logger.
 */
const REDACT = [
  'apiKey',
  'token',
  'authorization',
  '*.apiKey',
  '*.token',
  '*.authorization',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  'remoteEnv',
  '*.remoteEnv',
  // Octokit's RequestError carries the request; it redacts the token itself, this is belt and braces.
  'err.request.headers.authorization',
];

/** The one logger of a process: JSON lines, `task_id` on every line. */
export function createLogger(
  options: { level: string; taskId?: string; name: string },
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      base: options.taskId ? { task_id: options.taskId } : {},
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
