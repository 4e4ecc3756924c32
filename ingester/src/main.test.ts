import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { TASK_CREATED } from '@anton/contracts';
import { type Capture, captureMessages, createTestVhost, promtool, type TestVhost, waitFor } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../test/fixture.ts';
import { signedHeaders } from '../test/harness.ts';

const MAIN = new URL('./main.ts', import.meta.url).pathname;

/** `node src/main.ts` configured only by `env`, as in a container. */
function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=source', MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, output, exited };
}

function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe('the ingester process', () => {
  let vhost: TestVhost;
  let capture: Capture;
  let running: ReturnType<typeof start> | undefined;
  beforeAll(async () => {
    vhost = await createTestVhost('ingester-main');
    capture = await captureMessages(vhost.url, TASK_CREATED);
  });
  afterAll(async () => {
    if (running?.child.exitCode === null) running.child.kill('SIGKILL');
    await capture?.close();
    await vhost?.delete();
  });

  it('starts from the environment, publishes a webhook, and exits cleanly on SIGTERM', async () => {
    running = start({
      WEBHOOK_SECRET: 'process-secret',
      RABBITMQ_URL: vhost.url,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'INFO',
    });
    const { output } = running;
    const listening = await waitFor(
      () => logLines(output.stdout).find((line) => String(line.msg).startsWith('Server listening at ')),
      { what: `the server to listen (stderr: ${output.stderr})` },
    );
    const base = String(listening.msg).slice('Server listening at '.length);
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, { what: 'readiness' });

    const body = fixture('jira-issue_created-1.json');
    const reply = await fetch(`${base}/webhooks/jira`, {
      method: 'POST',
      headers: signedHeaders('jira', body, 'process-secret'),
      body,
    });
    expect(reply.status).toBe(202);
    const { task_id } = (await reply.json()) as { task_id: string };
    await waitFor(() => capture.messages.some((message) => message.properties.messageId === task_id));

    running.child.kill('SIGTERM');
    expect(await running.exited).toEqual([0, null]);
    const messages = logLines(output.stdout).map((line) => line.msg);
    expect(messages).toContain('shutting down');
    expect(messages.at(-1)).toBe('stopped');
    expect(output.stdout).not.toContain('process-secret');
    expect(output.stderr).toBe('');
  });
});

describe('the metrics port', () => {
  let vhost: TestVhost;
  let running: ReturnType<typeof start> | undefined;
  beforeAll(async () => {
    vhost = await createTestVhost('ingester-metrics');
  });
  afterAll(async () => {
    if (running?.child.exitCode === null) running.child.kill('SIGKILL');
    await vhost?.delete();
  });

  it('serves /metrics on METRICS_PORT only, in a form promtool check metrics accepts', async () => {
    running = start({ WEBHOOK_SECRET: 's', RABBITMQ_URL: vhost.url, PORT: '0', METRICS_PORT: '0', HOST: '127.0.0.1' });
    const { output } = running;
    const address = (prefix: string) =>
      waitFor(
        () => {
          const line = logLines(output.stdout).find((l) => String(l.msg).startsWith(prefix));
          return line && String(line.msg).slice(prefix.length);
        },
        { what: `${prefix}(stderr: ${output.stderr})`, timeoutMs: 20_000 },
      );
    const webhooks = await address('Server listening at ');
    const metrics = await address('metrics listening at ');
    expect(metrics).not.toBe(webhooks);
    await waitFor(async () => (await fetch(`${webhooks}/readyz`)).status === 200, {
      what: 'readiness',
      timeoutMs: 20_000,
    });

    expect((await fetch(`${webhooks}/metrics`)).status).toBe(404);
    const scrape = await fetch(`${metrics}/metrics`);
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    expect(text).toMatch(/^anton_ingester_broker_connected 1$/m);
    expect(await promtool.checkMetrics(text)).toEqual({ code: 0, output: '' });
    running.child.kill('SIGTERM');
    expect(await running.exited).toEqual([0, null]);
  });
});

describe('configuration errors', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  it.each([
    ['no WEBHOOK_SECRET', {}, 'WEBHOOK_SECRET: required'],
    ['a bad PORT', { WEBHOOK_SECRET: 'x', PORT: 'eighty' }, 'PORT: '],
  ])('exits non-zero with one line naming the variable: %s', async (_, env, message) => {
    const started = start(env);
    child = started.child;
    const [code] = await started.exited;
    expect(code).toBe(1);
    expect(started.output.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining(message)]);
    expect(started.output.stdout).toBe('');
  });
});
