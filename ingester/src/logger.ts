import { type DestinationStream, type Logger, pino } from 'pino';

/** Headers that carry credentials: never written to a log, wherever a request or its headers land. */
const AUTH_HEADERS = ['authorization', 'x-hub-signature', 'x-webhook-secret', 'x-sonar-webhook-hmac-sha256'];

export const REDACTED_PATHS = AUTH_HEADERS.flatMap((header) => [
  `req.headers["${header}"]`,
  `request.headers["${header}"]`,
  `headers["${header}"]`,
]);

/** The one logger of the process, made at the entry point (or by a test, with its own destination). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'ingester' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
