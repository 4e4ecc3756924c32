/**
 * Empties orchestrator_queue as fast as the broker delivers (no acks), in a process of its own so
 * that consuming thousands of tasks a second does not slow the load generator's event loop.
 * Env: RABBITMQ_URL, PORT (GET / answers how many messages it has taken).
 */
import { createServer } from 'node:http';
import { declareTaskTopology, ORCHESTRATOR_QUEUE } from '@anton/contracts';
import amqp from 'amqplib';

const connection = await amqp.connect(process.env.RABBITMQ_URL ?? '');
const channel = await connection.createChannel();
await declareTaskTopology(channel);
let count = 0;
await channel.consume(
  ORCHESTRATOR_QUEUE,
  (message) => {
    if (message) count += 1;
  },
  { noAck: true },
);
const health = createServer((_req, res) => res.end(String(count))).listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => {
  health.close();
  void connection.close().then(() => process.exit(0));
});
