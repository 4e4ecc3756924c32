/**
 * Baseline of figure 1: Fastify answering 202 to the webhook, parsing its JSON and nothing else
 * (no signature check, no validation, no publish, no logging). Run as its own process on PORT.
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/webhooks/jira', async (_request, reply) => reply.code(202).send({ task_id: randomUUID() }));
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
