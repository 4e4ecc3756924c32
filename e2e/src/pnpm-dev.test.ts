import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import {
  createTestVhost,
  freePort,
  type LogLine,
  REPO_ROOT,
  ServiceProcess,
  serviceEntry,
  type TestVhost,
} from '@anton/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from './harness/sample-webhooks.ts';

// `pnpm dev` is `node scripts/dev.ts`: started here the same way, with no keys in its environment.
let vhost: TestVhost;
let dev: ServiceProcess | undefined;

beforeAll(async () => {
  vhost = await createTestVhost('e2e-dev');
});
afterEach(async () => {
  await dev?.kill();
  dev = undefined;
});
afterAll(() => vhost?.delete());

function startDev(env: Record<string, string>, ready?: (line: LogLine) => boolean): Promise<ServiceProcess> {
  return ServiceProcess.start({
    name: 'pnpm dev',
    entry: join(REPO_ROOT, 'scripts', 'dev.ts'),
    nodeArgs: [],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      RABBITMQ_URL: vhost.url,
      ...env,
    },
    ...(ready && { ready }),
  });
}

const from = (service: string, msg: string) => (line: LogLine) => line.service === service && line.msg === msg;

describe('pnpm dev', () => {
  it('runs the ingester and the orchestrator: a sample webhook is routed by rules, and the runner stops for want of keys', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    dev = await startDev({
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      INGESTER_METRICS_PORT: String(await freePort()),
    });
    await dev.waitForLine(from('orchestrator', 'orchestrator started'), { what: 'the orchestrator' });
    await dev.waitForLine(from('ingester', `Server listening at http://127.0.0.1:${port}`), { what: 'the ingester' });
    // Its own lines say which secret webhooks need and which keys are missing.
    const secretLine = await dev.waitForLine((line) => line.name === 'dev' && /dev secret "/.test(String(line.msg)));
    const secret = /dev secret "([^"]+)"/.exec(String(secretLine.msg))?.[1] ?? '';
    const keys = await dev.waitForLine((line) => line.name === 'dev' && Array.isArray(line.missing));
    expect(keys.missing).toEqual(['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GITHUB_TOKEN']);

    // The README's way to send a sample: the ingester's send CLI.
    const send = await ServiceProcess.start({
      name: 'send',
      entry: serviceEntry('ingester', 'cli/send-webhook'),
      args: [
        'jira',
        join(FIXTURES_DIR, 'jira-issue_created-1.json'),
        '--url',
        `http://127.0.0.1:${port}`,
        '--secret',
        secret,
      ],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    expect((await send.exited).code, send.tail()).toBe(0);
    expect(send.output[0]).toBe('202 Accepted');
    const taskId = String(send.lines[0]?.task_id);

    const ofTask = (msg: string) => (line: LogLine) => line.task_id === taskId && line.msg === msg;
    const routed = await dev.waitForLine(ofTask('task routed'), { what: 'the task to be routed' });
    expect(routed).toMatchObject({ service: 'orchestrator', routed_by: 'rules' });
    expect(dev.lines.find(ofTask('repository resolved'))).toMatchObject({
      repository: 'https://github.com/acme/sample-shop.git',
      resolved_by: 'jira-project',
    });
    // It tried to start the runner: the credential proxy refused, naming the missing keys.
    const proxy = await dev.waitForLine((line) => line.task_id === taskId && line.process === 'credential-proxy');
    expect(proxy.line).toMatch(/ANTHROPIC_API_KEY.*OPENAI_API_KEY.*GITHUB_TOKEN/);
    // A refused configuration is final: dead-lettered at once with the reason, not retried.
    const dead = await dev.waitForLine(ofTask('task dead-lettered'), { what: 'the dead letter' });
    expect(dead.reason).toContain('cannot start the local runner: the credential proxy exited (2)');
    expect(dead.reason).toMatch(/ANTHROPIC_API_KEY: required: the credential proxy holds the Anthropic API key/);
    expect(dev.lines.some(ofTask('task failed, republishing for another attempt'))).toBe(false);

    expect((await dev.stop()).code).toBe(0);
    expect(dev.lines.some(from('orchestrator', 'orchestrator stopped'))).toBe(true);
    expect(dev.lines.some(from('ingester', 'stopped'))).toBe(true);
  });

  it('stops the other service and exits non-zero when one dies', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '0.0.0.0', resolve));
    const { port } = taken.address() as { port: number };
    try {
      dev = await startDev({
        PORT: String(port),
        METRICS_PORT: String(await freePort()),
        INGESTER_METRICS_PORT: String(await freePort()),
      });
      const exit = await dev.exited;
      expect(exit.code).toBe(1);
      expect(dev.output.join('\n')).toContain('EADDRINUSE');
      expect(
        dev.lines.some((line) => line.name === 'dev' && line.msg === 'ingester exited (1); stopping the others'),
      ).toBe(true);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
