import { type DestinationStream, type Logger, pino } from 'pino';

/**
 * Paths where a credential could sit if an object holding one were ever logged: a second line of
 * defence, the first being never to log such objects (the config, the SDK clients, request headers).
 */
const REDACT = [
  'apiKey',
  '*.apiKey',
  'keys',
  '*.keys',
  'token',
  '*.token',
  'apiToken',
  '*.apiToken',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  'headers["dd-api-key"]',
  '*.headers["dd-api-key"]',
  'env.ANTHROPIC_API_KEY',
  'env.OPENAI_API_KEY',
  'env.GITHUB_TOKEN',
];

/** The one logger of the process, made at the entry point: JSON lines, children bound to `task_id`. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      name: 'orchestrator',
      level,
      base: { service: 'orchestrator' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
