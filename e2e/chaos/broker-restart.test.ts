import { waitFor } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pipeline } from '../src/harness/pipeline.ts';
import { readiness } from './support/broker-routes.ts';
import { type OwnBroker, startOwnBroker } from './support/own-broker.ts';
import { SteadySender } from './support/steady-sender.ts';
import { expectEachIncidentEndedOnce, queuedDeadLetters } from './support/task-ledger.ts';

// A real broker stops and starts again (rabbitmqctl stop_app / start_app) under a steady flow of
// webhooks: a node of this test's own (its own name, ports, data and config), never the machine's
// shared broker, which other tests keep using meanwhile. It is started again whatever happens.
let broker: OwnBroker;
let pipeline: Pipeline;
let sender: SteadySender | undefined;

beforeAll(async () => {
  broker = await startOwnBroker('chaos-restart');
  pipeline = await Pipeline.start({
    label: 'chaos-restart',
    kubelet: false,
    broker,
    orchestratorEnv: { MAX_ACTIVE_JOBS: '1000' },
  });
}, 120_000);
afterAll(async () => {
  sender?.stop();
  await pipeline?.close();
  await broker?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a broker restart under a steady flow of webhooks', () => {
  it(
    'answers 503 while the broker is down, recovers within 10 s of its return, and ends every accepted webhook once',
    async () => {
      sender = new SteadySender(pipeline, { intervalMs: 100, firstNumber: 5000 });
      sender.start();
      await sleep(2_000);
      try {
        await broker.ctl(['stop_app']);
        await waitFor(async () => (await readiness(pipeline)).ingester === 503, {
          what: 'the ingester to report unready while the broker is down',
        });
        const refusedBefore = sender.statusCounts()[503] ?? 0;
        await waitFor(() => (sender?.statusCounts()[503] ?? 0) > refusedBefore, {
          what: 'a webhook answered 503 while the broker is down',
        });
        await sleep(2_000);
      } finally {
        await broker.ctl(['start_app']);
      }
      await waitFor(
        async () => {
          const probes = await readiness(pipeline);
          return probes.ingester === 200 && probes.orchestrator === 200;
        },
        { timeoutMs: 10_000, what: 'both services ready within 10 s of the broker starting again' },
      );
      await sleep(3_000);
      sender.stop();
      await sender.settle();
      expect(Object.keys(sender.statusCounts()).map(Number).sort()).toEqual([202, 503]);
      await expectEachIncidentEndedOnce(pipeline, sender.incidents, () => queuedDeadLetters(pipeline));
      expect(pipeline.ingester.exit).toBeUndefined();
      expect(pipeline.orchestrator.exit).toBeUndefined();
    },
    15 * 60_000,
  );
});
