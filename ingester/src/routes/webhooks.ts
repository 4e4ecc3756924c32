import { randomUUID } from 'node:crypto';
import { AgentTask, formatIssues, type Source } from '@anton/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
  const answers = new WeakMap<FastifyRequest, Answer>();
  for (const source of Object.values(deps.sources)) {
    fastify.post(
      `/webhooks/${source.path}`,
      {
        bodyLimit: deps.maxBodyBytes,
        // Counted and logged here, so the answers Fastify gives before the handler (413, 415) are too.
        onResponse: async (request, reply) => {
          const answer = answers.get(request);
          const outcome = answer?.duplicate ? 'duplicate' : (OUTCOME_BY_STATUS[reply.statusCode] ?? 'error');
          deps.metrics.webhooks.inc({ source: source.source, outcome });
          logAnswer(request, reply, { source: source.source, outcome }, answer?.log);
        },
      },
      async (request, reply) => {
        const answer = await receive(source, request, deps);
        answers.set(request, answer);
        return reply.code(answer.status).send(answer.body);
      },
    );
  }
}

/** What a webhook's log line says besides its method, route, status and time. */
interface AnswerLog {
  msg: string;
  level?: 'info' | 'warn';
  fields?: Record<string, unknown>;
}

interface Answer {
  status: number;
  body: unknown;
  duplicate?: boolean;
  log: AnswerLog;
}

/** The request's one log line (Fastify's own are off), with task_id once known. */
function logAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  labels: { source: Source; outcome: Outcome },
  // Answers Fastify gave before the handler ran: the error handler bound the reason to request.log.
  log: AnswerLog = { msg: reply.statusCode >= 500 ? 'webhook failed' : 'webhook refused' },
): void {
  const { msg, level = 'info', fields = {} } = log;
  const line = {
    method: request.method,
    route: request.routeOptions.url,
    status: reply.statusCode,
    response_time_ms: Math.round(reply.elapsedTime * 100) / 100,
    ...labels,
    ...fields,
  };
  request.log[level](line, msg);
}

/** Authenticate, decode, validate, filter, deduplicate, publish: in that order, each able to stop. */
async function receive(source: WebhookSource, request: FastifyRequest, deps: WebhookDeps): Promise<Answer> {
  const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const encoding = encodingOf(request.headers['content-type']) ?? 'json';
  if (!source.encodings.includes(encoding)) return problem(415, `${source.path} webhooks must be sent as JSON`);
  if (!source.authenticate(request.headers, raw, deps.secrets[source.source])) {
    return {
      ...problem(401, 'missing or invalid credentials'),
      log: { msg: 'webhook authentication failed', level: 'warn' },
    };
  }
  const decoded = decodeBody(raw, encoding);
  if (!decoded.ok) return problem(400, decoded.problem);
  const result = source.interpret(decoded.value);
  if (result.kind === 'invalid') return problem(400, result.problem);
  if (result.kind === 'ignored') {
    return {
      status: 200,
      body: { status: 'ignored', reason: result.reason },
      log: { msg: 'webhook ignored', fields: { reason: result.reason } },
    };
  }

  const deliveryId = source.deliveryId?.(request.headers);
  const earlier = deliveryId ? deps.deliveries.get(deliveryId) : undefined;
  if (earlier) {
    const taskId = await earlier.catch(() => undefined);
    if (taskId === undefined) return unavailable({ delivery_id: deliveryId });
    return {
      status: 202,
      body: { task_id: taskId },
      duplicate: true,
      log: { msg: 'repeated delivery; not published again', fields: { task_id: taskId, delivery_id: deliveryId } },
    };
  }

  const task = AgentTask.safeParse(toTask(source.source, result.draft, decoded.value));
  if (!task.success) return problem(400, formatIssues(task.error));
  // task_id goes in the answer's log line, not in a child logger: a pino child per webhook was 2% of
  // the ingester's CPU under load (pnpm bench, figure 1 profile).
  const task_id = task.data.task_id;

  const started = process.hrtime.bigint();
  const published = deps.publisher.publish(task.data).then(() => task.data.task_id);
  if (deliveryId) deps.deliveries.track(deliveryId, published);
  try {
    await published;
  } catch (err) {
    deps.metrics.publishSeconds.observe({ outcome: 'failed' }, seconds(started));
    if (!(err instanceof PublishError)) {
      // A bug: the error handler logs it, with the task it was about (rare, so a child is fine here).
      request.log = request.log.child({ task_id });
      throw err;
    }
    return unavailable({ task_id, err });
  }
  deps.metrics.publishSeconds.observe({ outcome: 'confirmed' }, seconds(started));
  const { external_id, dedup_key } = task.data;
  return {
    status: 202,
    body: { task_id: task.data.task_id },
    log: { msg: 'task published', fields: { task_id, external_id, dedup_key } },
  };
}

function toTask(source: Source, draft: TaskDraft, body: unknown) {
  return { task_id: randomUUID(), source, ...draft, raw_payload: body, created_at: new Date().toISOString() };
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

function problem(status: number, message: string): Answer {
  return { status, body: problemBody(status, message), log: { msg: 'webhook refused', fields: { reason: message } } };
}

function unavailable(fields: Record<string, unknown>): Answer {
  return {
    ...problem(503, 'the task could not be queued right now; retry later'),
    log: { msg: 'task not published', level: 'warn', fields },
  };
}
