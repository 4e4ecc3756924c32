import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from '../../test/harness.ts';
import {
  expectAnswerFits,
  expectPublishedExactly,
  FUZZ_MAX_BODY_BYTES,
  type HostileRequest,
  hostileRequest,
  ROUTES,
  startFuzzHarness,
} from '../../test/hostile-input.ts';

const RUNS_PER_ROUTE = 1000;
let harness: Harness;
beforeAll(async () => {
  harness = await startFuzzHarness();
});
afterAll(() => harness?.close());

function send(request: HostileRequest): Promise<LightMyRequestResponse> {
  return harness.app.inject({
    method: 'POST',
    url: `/webhooks/${request.route}`,
    payload: request.body,
    headers: request.headers,
  });
}

describe('hostile and malformed webhooks through app.inject()', () => {
  const accepted = new Map<string, HostileRequest>();
  let logLines = 0;

  it.each(ROUTES)('%s: answers only 2xx/4xx, accepts only genuine credentials, never logs an error', async (route) => {
    await fc.assert(
      fc.asyncProperty(hostileRequest(route), async (request) => {
        const reply = await send(request);
        expectAnswerFits(request, reply.statusCode, reply.body, FUZZ_MAX_BODY_BYTES);
        if (reply.statusCode === 202) {
          const { task_id } = reply.json() as { task_id: string };
          if (!accepted.has(task_id)) accepted.set(task_id, request);
        }
        const errors = harness.rawLogs
          .slice(logLines)
          .filter((line) => ['error', 'fatal'].includes(JSON.parse(line).level));
        logLines = harness.rawLogs.length;
        expect(errors, 'error-level log lines').toEqual([]);
      }),
      { numRuns: RUNS_PER_ROUTE },
    );
  });

  it('published exactly one task per accepted webhook, holding the body received, and nothing else', async () => {
    expect(accepted.size).toBeGreaterThan(0);
    await expectPublishedExactly(harness, accepted);
  });
});
