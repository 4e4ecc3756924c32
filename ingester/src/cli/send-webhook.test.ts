import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { waitFor } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, SECRETS, startHarness } from '../../test/harness.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('./send-webhook.ts', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

let harness: Harness;
let url: string;
beforeAll(async () => {
  harness = await startHarness();
  url = await harness.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => harness?.close());

/** Runs `send-webhook` with only the given environment, as a user would from a shell. */
async function send(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout } = await run(process.execPath, ['--conditions=source', CLI, ...args, '--url', url], { env });
    return { code: 0, stdout };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('send-webhook', () => {
  it.each([
    ['jira', 'jira-issue_created-1.json', SECRETS.jira],
    ['sonar', 'sonar-qualitygate-ERROR-1.json', SECRETS.sonarcloud],
    ['datadog', 'datadog-triggered-2.json', SECRETS.datadog],
  ])('signs a %s payload as the source would and prints the reply', async (route, file, secret) => {
    const { code, stdout } = await send([route, `${FIXTURES}${file}`, '--secret', secret]);
    expect(code).toBe(0);
    const [status, reply] = stdout.trim().split('\n');
    expect(status).toBe('202 Accepted');
    const { task_id } = JSON.parse(reply ?? '');
    await waitFor(() => harness.capture.messages.some((message) => message.properties.messageId === task_id));
  });

  it('sends Datadog payloads form-encoded on request, taking the secret from WEBHOOK_SECRET', async () => {
    const result = await send(['datadog', `${FIXTURES}datadog-triggered-2.json`, '--form'], {
      WEBHOOK_SECRET: SECRETS.datadog,
    });
    expect(result.code).toBe(0);
    const { task_id } = JSON.parse(result.stdout.trim().split('\n')[1] ?? '');
    const message = await waitFor(() => harness.capture.messages.find((m) => m.properties.messageId === task_id));
    expect(JSON.parse(message.content.toString('utf8')).raw_payload).toMatchObject({
      id: '8306082202796025694',
      org: '{"id":"352347","name":"vng"}',
    });
  });

  it('prints the refusal and exits non-zero when the secret is wrong', async () => {
    const result = await send(['sonar', `${FIXTURES}sonar-qualitygate-ERROR-1.json`, '--secret', 'wrong']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^401 Unauthorized\n.*missing or invalid credentials/);
  });

  it('explains its usage when the source is unknown', async () => {
    const result = await send(['github', `${FIXTURES}sonar-qualitygate-ERROR-1.json`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^usage: send <jira\|datadog\|sonar> <payload\.json>/);
  });
});
