import fc from 'fast-check';
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
import { rawRequest, serializeRequest } from '../../test/raw-http.ts';

// The same requests as the app.inject() fuzzer, but through a listening server and Node's own
// HTTP parser: header names in any case, repeated headers on the wire, chunked bodies.
const RUNS_PER_ROUTE = 100;

let harness: Harness;
let port: number;
beforeAll(async () => {
  harness = await startFuzzHarness();
  await harness.app.listen({ port: 0, host: '127.0.0.1' });
  const address = harness.app.server.address();
  if (!address || typeof address !== 'object') throw new Error('the server has no port');
  port = address.port;
});
afterAll(() => harness?.close());

interface Wire {
  chunked: boolean;
  chunkSize: number;
  upperCase: boolean;
  repeatContentType: boolean;
}

const wire: fc.Arbitrary<Wire> = fc.record({
  chunked: fc.boolean(),
  chunkSize: fc.integer({ min: 1, max: 70_000 }),
  upperCase: fc.boolean(),
  repeatContentType: fc.boolean(),
});

function toWire(request: HostileRequest, { chunked, chunkSize, upperCase, repeatContentType }: Wire): Buffer {
  const lines: [string, string][] = [];
  for (const [name, value] of Object.entries(request.headers)) {
    const wireName = upperCase ? name.toUpperCase() : name;
    for (const one of Array.isArray(value) ? value : [value]) lines.push([wireName, one]);
    if (name === 'content-type' && repeatContentType && !Array.isArray(value)) lines.push([wireName, value]);
  }
  return serializeRequest(
    `/webhooks/${request.route}`,
    lines,
    request.body,
    chunked ? { chunked, chunkSize } : { chunked: false },
  );
}

describe('hostile and malformed webhooks through a listening server', () => {
  const accepted = new Map<string, HostileRequest>();

  it.each(ROUTES)('%s: answers only 2xx/4xx and accepts only genuine credentials', async (route) => {
    await fc.assert(
      fc.asyncProperty(hostileRequest(route), wire, async (request, framing) => {
        const reply = await rawRequest(port, toWire(request, framing));
        expectAnswerFits(request, reply.status, reply.body, FUZZ_MAX_BODY_BYTES);
        if (reply.status === 202) {
          const { task_id } = JSON.parse(reply.body) as { task_id: string };
          if (!accepted.has(task_id)) accepted.set(task_id, request);
        }
      }),
      { numRuns: RUNS_PER_ROUTE },
    );
  });

  it('published exactly one task per accepted webhook and nothing else; logged no error; still serves', async () => {
    expect(accepted.size).toBeGreaterThan(0);
    await expectPublishedExactly(harness, accepted);
    expect(harness.logs.filter((line) => ['error', 'fatal'].includes(String(line.level)))).toEqual([]);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
