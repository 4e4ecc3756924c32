/**
 * Baseline of figure 2: the orchestrator's external calls and nothing else. A bare amqplib
 * consumer (same prefetch) that, per task, makes the calls the orchestrator made for its task,
 * replayed from its recorded requests with this task's id: create the claim ConfigMap, ask
 * Claude (same request body), create the Job, create the context ConfigMap owned by it. No
 * validation, rendering, retries, logging or metrics. Run as its own process:
 * RABBITMQ_URL, KUBECONFIG, NAMESPACE, ANTHROPIC_URL, ANTHROPIC_API_KEY, CALLS (a JSON file), PREFETCH.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { ORCHESTRATOR_QUEUE } from '@anton/contracts';
import { BatchV1Api, CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import amqp from 'amqplib';
import type { RecordedCalls } from '../support/recorded-calls.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const calls = JSON.parse(readFileSync(env('CALLS'), 'utf8')) as RecordedCalls;
const namespace = env('NAMESPACE');
const anthropicUrl = `${env('ANTHROPIC_URL')}/v1/messages`;
const config = new KubeConfig();
config.loadFromFile(env('KUBECONFIG'));
const core = config.makeApiClient(CoreV1Api);
const batch = config.makeApiClient(BatchV1Api);
const templates = {
  claim: JSON.stringify(calls.claim),
  job: JSON.stringify(calls.job),
  context: JSON.stringify(calls.context),
  routing: JSON.stringify(calls.routing.body),
};

/** A recorded call with the recorded task's id and claim hash swapped for this task's. */
function forTask<T>(template: string, taskId: string, hash: string): T {
  return JSON.parse(template.replaceAll(calls.taskId, taskId).replaceAll(calls.hash, hash)) as T;
}

async function dispatch(task: { task_id: string; dedup_key?: string }): Promise<void> {
  const hash = createHash('sha256')
    .update(task.dedup_key ?? task.task_id)
    .digest('hex')
    .slice(0, calls.hash.length);
  await core.createNamespacedConfigMap({ namespace, body: forTask(templates.claim, task.task_id, hash) });
  const answer = await fetch(anthropicUrl, {
    method: 'POST',
    headers: calls.routing.headers,
    body: JSON.stringify(forTask<unknown>(templates.routing, task.task_id, hash)),
  });
  await answer.json();
  const job = await batch.createNamespacedJob({ namespace, body: forTask(templates.job, task.task_id, hash) });
  const context = forTask<V1ConfigMap>(templates.context, task.task_id, hash);
  const owner = context.metadata?.ownerReferences?.[0];
  if (owner) owner.uid = job.metadata?.uid ?? '';
  await core.createNamespacedConfigMap({ namespace, body: context });
}

const connection = await amqp.connect(env('RABBITMQ_URL'));
const channel = await connection.createChannel();
await channel.prefetch(Number(process.env.PREFETCH ?? 1));
await channel.consume(ORCHESTRATOR_QUEUE, (message) => {
  if (!message) return;
  dispatch(JSON.parse(message.content.toString('utf8'))).then(
    () => channel.ack(message),
    (err) => {
      console.error(err);
      channel.nack(message, false, false);
    },
  );
});

// Readiness for the benchmark: consuming from here on.
const health = createServer((_req, res) => res.end('ok')).listen(Number(env('PORT')), '127.0.0.1');
process.once('SIGTERM', () => {
  health.close();
  void connection.close().then(() => process.exit(0));
});
