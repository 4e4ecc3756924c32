import { type DestinationStream, type Logger, pino } from 'pino';

/** Headers that carry credentials: never written to a log, wherever a request or its headers land. */
const AUTH_HEADERS = ['authorization', 'x-hub-signature', 'x-webhook-secret', 'x-sonar-webhook-hmac-sha256'];

export const REDACTED_PATHS = AUTH_HEADERS.flatMap((header) => [
  `req.headers["${header}"]`,
  `request.headers["${header}"]`,
  `headers["${header}"]`,
]);

/**
 * The one logger of the process, made at the entry point (or by a test, with its own destination).
 * Lines look like the other services' (ISO time, level names), so one query reads all three.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    name: 'ingester',
    level,
    base: { service: 'ingester' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}
