import { STATUS_CODES } from 'node:http';

/** An error reply in Fastify's own shape, so replies read alike whoever produced them. */
export function problemBody(statusCode: number, message: string) {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}
