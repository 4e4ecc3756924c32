import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../test/fixture.ts';
import { SECRETS, signedHeaders } from '../test/harness.ts';
import ingesterApp, { createServer } from './app.ts';
import { createLogger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import type { TaskPublisher } from './publisher.ts';

// A bug stands in here as a publisher that throws something other than a PublishError.
const buggy: TaskPublisher = {
  ready: true,
  publish: () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'x')")),
  close: async () => undefined,
};

const lines: Record<string, unknown>[] = [];
const app = createServer(createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line)) }));
beforeAll(async () => {
  const config = {
    secrets: { ...SECRETS },
    jira: { triggerLabel: undefined, triggerStatuses: [] },
    maxBodyBytes: 1 << 20,
    sharedSecretSources: [],
  };
  await app.register(ingesterApp, { config, publisher: buggy, metrics: createMetrics(() => true) });
  await app.ready();
});
afterAll(() => app.close());

describe('the error handler', () => {
  it('answers an unexpected error with a 503 that reveals nothing, and logs it at error level', async () => {
    const body = fixture('jira-issue_created-1.json');
    const reply = await app.inject({
      method: 'POST',
      url: '/webhooks/jira',
      payload: body,
      headers: signedHeaders('jira', body),
    });
    expect(reply.statusCode).toBe(503);
    expect(reply.json()).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'temporarily unavailable; retry later',
    });
    const logged = lines.find((line) => line.msg === 'unexpected error; answered 503');
    expect(logged).toMatchObject({ level: 'error', task_id: expect.any(String), err: { type: 'TypeError' } });
  });
});
