import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('createLogger', () => {
  it('redacts every auth header wherever a request lands in a log line', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const headers = {
      authorization: 'Basic ZGF0YWRvZzpzM2NyZXQ=',
      'x-hub-signature': 'sha256=abcdef',
      'x-webhook-secret': 's3cret',
      'x-sonar-webhook-hmac-sha256': 'fedcba',
      'content-type': 'application/json',
    };
    logger.info({ req: { headers } }, 'one');
    logger.info({ headers }, 'two');
    const text = lines.join('');
    for (const value of ['ZGF0YWRvZzpzM2NyZXQ=', 'abcdef', 's3cret', 'fedcba']) expect(text).not.toContain(value);
    expect(JSON.parse(lines[0] ?? '').req.headers).toEqual({
      authorization: '[redacted]',
      'x-hub-signature': '[redacted]',
      'x-webhook-secret': '[redacted]',
      'x-sonar-webhook-hmac-sha256': '[redacted]',
      'content-type': 'application/json',
    });
  });
});
