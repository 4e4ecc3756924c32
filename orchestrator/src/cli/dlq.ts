import { DEAD_LETTER_QUEUE, parseEnv } from '@anton/contracts';
import amqp from 'amqplib';
import { z } from 'zod';
import { listDeadLetters, replayDeadLetters, replayTarget } from '../dead-letters.ts';

const USAGE = `usage: dlq [--queue <name>] list | show <id> | replay <id>… | replay --all
  --queue   task.dlq (default) or a reporter's anton.reports.<name>.dlq
  RABBITMQ_URL says which broker (default amqp://guest:guest@127.0.0.1:5672)`;

const Env = z.object({ RABBITMQ_URL: z.string().default('amqp://guest:guest@127.0.0.1:5672') });

/** The operator's dead-letter tool: list with reasons, show one, replay one, some or all. */
export async function runDlq(args: string[], env: Record<string, string | undefined>, out: (line: string) => void) {
  const { RABBITMQ_URL: url } = parseEnv(Env, env);
  let queue = DEAD_LETTER_QUEUE;
  const rest = [...args];
  const at = rest.indexOf('--queue');
  if (at >= 0) {
    queue = rest[at + 1] ?? '';
    rest.splice(at, 2);
  }
  const [command, ...ids] = rest;
  if (!queue || !command || !['list', 'show', 'replay'].includes(command)) throw new UsageError(USAGE);
  if (command === 'show' && ids.length !== 1) throw new UsageError(USAGE);
  if (command === 'replay' && ids.length === 0) throw new UsageError(USAGE);
  replayTarget(queue); // refuses a queue that is not one of anton's dead-letter queues

  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined); // a refused publish closes the channel: reported per dead letter
    if (command === 'list') {
      const letters = await listDeadLetters(channel, queue);
      for (const letter of letters) {
        const copies = letter.copies > 1 ? ` (${letter.copies} copies)` : '';
        out(
          `${letter.id}\t${letter.source ?? '-'}\tretries=${letter.retryCount}${copies}\t${letter.reason ?? '(no reason)'}`,
        );
      }
      out(`${letters.length} dead letter(s) in ${queue}`);
      return 0;
    }
    if (command === 'show') {
      const letter = (await listDeadLetters(channel, queue)).find((l) => l.id === ids[0]);
      if (!letter) {
        out(`no dead letter ${ids[0]} in ${queue}`);
        return 1;
      }
      out(
        JSON.stringify(
          { id: letter.id, copies: letter.copies, headers: letter.headers, body: parseBody(letter.body) },
          null,
          2,
        ),
      );
      return 0;
    }
    const result = await replayDeadLetters(channel, queue, ids.includes('--all') ? 'all' : ids);
    for (const id of result.replayed) out(`replayed ${id}`);
    for (const { id, error } of result.failed) out(`not replayed ${id}: ${error} (left in ${queue})`);
    return result.failed.length > 0 ? 1 : 0;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export class UsageError extends Error {}

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runDlq(process.argv.slice(2), process.env, (line) => console.log(line)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof UsageError ? err.message : `dlq: ${(err as Error).message}`);
      process.exit(2);
    },
  );
}
