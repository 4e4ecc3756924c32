import { type Capture, waitFor } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pipeline } from '../src/harness/pipeline.ts';
import { type BrokerRoutes, readiness, routeBrokerThroughProxies } from './support/broker-routes.ts';
import { SteadySender } from './support/steady-sender.ts';
import { deadLetters, expectEachIncidentEndedOnce, watchDeadLetters } from './support/task-ledger.ts';

// Webhooks flow at a steady rate while the network between both services and RabbitMQ is cut,
// slowed and reset. No runner pods: the promise under test ends at the Job (or the dead letter),
// so Jobs are never finished and the capacity is set out of the way.
let pipeline: Pipeline;
let routes: BrokerRoutes;
let dlq: Capture;
let sender: SteadySender | undefined;

beforeAll(async () => {
  pipeline = await Pipeline.start({ label: 'chaos-net', kubelet: false, orchestratorEnv: { MAX_ACTIVE_JOBS: '1000' } });
  routes = await routeBrokerThroughProxies(pipeline);
  dlq = await watchDeadLetters(pipeline);
}, 120_000);
afterAll(async () => {
  sender?.stop();
  await dlq?.close();
  await routes?.close();
  await pipeline?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bothReady = async () => {
  const probes = await readiness(pipeline);
  return probes.ingester === 200 && probes.orchestrator === 200;
};

describe('broker network faults under a steady flow of webhooks', () => {
  it('answers 503 and reports unready during a cut, recovers within 10 s, and ends every accepted webhook once', async () => {
    sender = new SteadySender(pipeline, { intervalMs: 100 });
    sender.start();
    await sleep(2_000);

    // The network to the broker is cut for both services.
    await Promise.all(routes.both.map((proxy) => proxy.cut()));
    await waitFor(
      async () => {
        const probes = await readiness(pipeline);
        return probes.ingester === 503 && probes.orchestrator === 503;
      },
      { what: 'both readiness probes to fail during the cut' },
    );
    const refusedBefore = sender.statusCounts()[503] ?? 0;
    await waitFor(() => (sender?.statusCounts()[503] ?? 0) > refusedBefore, {
      what: 'a webhook answered 503 during the cut',
    });
    await sleep(2_000);

    // It comes back: both services recover by themselves.
    await Promise.all(routes.both.map((proxy) => proxy.restore()));
    await waitFor(bothReady, { timeoutMs: 10_000, what: 'both services ready within 10 s of the network returning' });

    // Slow: every chunk held 300 ms each way (confirms included).
    for (const proxy of routes.both) proxy.delay(300);
    await sleep(3_000);
    await Promise.all(routes.both.map((proxy) => proxy.restore()));

    // Reset: every connection gets an RST, twice, in the middle of the flow.
    for (const proxy of routes.both) proxy.reset();
    await sleep(1_500);
    for (const proxy of routes.both) proxy.reset();
    await waitFor(bothReady, { timeoutMs: 10_000, what: 'both services ready within 10 s of the resets' });
    await sleep(2_000);

    sender.stop();
    await sender.settle();
    const counts = sender.statusCounts();
    expect(Object.keys(counts).map(Number).sort()).toEqual([202, 503]);
    await expectEachIncidentEndedOnce(pipeline, sender.incidents, async () => deadLetters(dlq));
    expect(pipeline.ingester.exit).toBeUndefined();
    expect(pipeline.orchestrator.exit).toBeUndefined();
  }, 180_000);
});
