import { randomUUID } from 'node:crypto';
import { AgentTask, formatIssues, type Source } from '@anton/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DeliveryWindow } from '../delivery-window.ts';
import type { IngesterMetrics, Outcome } from '../metrics.ts';
import { problemBody } from '../problem.ts';
import { PublishError, type TaskPublisher } from '../publisher.ts';
import { decodeBody, encodingOf } from '../request-body.ts';
import type { TaskDraft, WebhookSource } from '../sources/webhook-source.ts';

export interface WebhookDeps {
  sources: Record<Source, WebhookSource>;
  secrets: Record<Source, string>;
  publisher: TaskPublisher;
  deliveries: DeliveryWindow;
  metrics: IngesterMetrics;
  maxBodyBytes: number;
}

const OUTCOME_BY_STATUS: Record<number, Outcome> = {
  200: 'ignored',
  202: 'published',
  400: 'invalid',
  401: 'unauthorized',
  413: 'too_large',
  415: 'unsupported_media_type',
  503: 'unavailable',
};

/** `POST /webhooks/<path>` for every registered source. */
export function webhookRoutes(fastify: FastifyInstance, deps: WebhookDeps): void {
  const duplicates = new WeakSet<FastifyRequest>();
  for (const source of Object.values(deps.sources)) {
    fastify.post(
      `/webhooks/${source.path}`,
      {
        bodyLimit: deps.maxBodyBytes,
        // Counted here so the answers Fastify gives before the handler (413, 415) are counted too.
        onResponse: async (request, reply) => {
          const outcome = duplicates.has(request) ? 'duplicate' : (OUTCOME_BY_STATUS[reply.statusCode] ?? 'error');
          deps.metrics.webhooks.inc({ source: source.source, outcome });
        },
      },
      async (request, reply) => {
        const answer = await receive(source, request, deps);
        if (answer.duplicate) duplicates.add(request);
        reply.log = request.log;
        return reply.code(answer.status).send(answer.body);
      },
    );
  }
}

interface Answer {
  status: number;
  body: unknown;
  duplicate?: boolean;
}

/** Authenticate, decode, validate, filter, deduplicate, publish: in that order, each able to stop. */
async function receive(source: WebhookSource, request: FastifyRequest, deps: WebhookDeps): Promise<Answer> {
  const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const encoding = encodingOf(request.headers['content-type']) ?? 'json';
  if (!source.encodings.includes(encoding)) return problem(415, `${source.path} webhooks must be sent as JSON`);
  if (!source.authenticate(request.headers, raw, deps.secrets[source.source])) {
    request.log.warn('webhook authentication failed');
    return problem(401, 'missing or invalid credentials');
  }
  const decoded = decodeBody(raw, encoding);
  if (!decoded.ok) return problem(400, decoded.problem);
  const result = source.interpret(decoded.value);
  if (result.kind === 'invalid') return problem(400, result.problem);
  if (result.kind === 'ignored') {
    request.log.info({ reason: result.reason }, 'webhook ignored');
    return { status: 200, body: { status: 'ignored', reason: result.reason } };
  }

  const deliveryId = source.deliveryId?.(request.headers);
  const earlier = deliveryId ? deps.deliveries.get(deliveryId) : undefined;
  if (earlier) {
    const taskId = await earlier.catch(() => undefined);
    if (taskId === undefined) return unavailable();
    request.log = request.log.child({ task_id: taskId });
    request.log.info({ delivery_id: deliveryId }, 'repeated delivery; not published again');
    return { status: 202, body: { task_id: taskId }, duplicate: true };
  }

  const task = AgentTask.safeParse(toTask(source.source, result.draft, decoded.value));
  if (!task.success) return problem(400, formatIssues(task.error));
  request.log = request.log.child({ task_id: task.data.task_id });

  const started = process.hrtime.bigint();
  const published = deps.publisher.publish(task.data).then(() => task.data.task_id);
  if (deliveryId) deps.deliveries.track(deliveryId, published);
  try {
    await published;
  } catch (err) {
    deps.metrics.publishSeconds.observe({ outcome: 'failed' }, seconds(started));
    if (!(err instanceof PublishError)) throw err;
    request.log.warn({ err }, 'task not published');
    return unavailable();
  }
  deps.metrics.publishSeconds.observe({ outcome: 'confirmed' }, seconds(started));
  const { external_id, dedup_key } = task.data;
  request.log.info({ source: source.source, external_id, dedup_key }, 'task published');
  return { status: 202, body: { task_id: task.data.task_id } };
}

function toTask(source: Source, draft: TaskDraft, body: unknown) {
  return { task_id: randomUUID(), source, ...draft, raw_payload: body, created_at: new Date().toISOString() };
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

function problem(status: number, message: string): Answer {
  return { status, body: problemBody(status, message) };
}

function unavailable(): Answer {
  return problem(503, 'the task could not be queued right now; retry later');
}
