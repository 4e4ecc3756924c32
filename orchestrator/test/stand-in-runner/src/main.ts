// Stand-in runner: records its environment, its context and the proxy's environment (asked over
// CREDENTIAL_PROXY_URL), writes a RunnerResult to TERMINATION_LOG, then exits with the code the
// task asks for. The task steers it through labels: stand-in-record-dir, stand-in-exit-code,
// stand-in-status (the result's status), stand-in-release-file (wait until it exists).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const contextPath = process.env.CONTEXT_PATH ?? '';
const context = JSON.parse(readFileSync(contextPath, 'utf8'));
const labels: Record<string, string> = context.task?.labels ?? {};
const proxy = await (await fetch(`${process.env.CREDENTIAL_PROXY_URL}/anthropic/v1/messages`)).json();

const release = labels['stand-in-release-file'];
while (release && !existsSync(release)) await sleep(20);

const record = { env: process.env, cwd: process.cwd(), argv: process.argv, context, proxy };
writeFileSync(join(labels['stand-in-record-dir'] ?? '.', `${process.env.TASK_ID}.json`), JSON.stringify(record));
const code = Number(labels['stand-in-exit-code'] ?? 0);
const status = labels['stand-in-status'] ?? (code === 0 ? 'pr_opened' : 'failed');
const result = {
  status,
  task_id: process.env.TASK_ID,
  turns: 3,
  review_rounds: 1,
  ...(status === 'pr_opened'
    ? { pr_url: `${String(context.repo_url).replace(/\.git$/, '')}/pull/42`, branch: `fix/${context.issue_id}` }
    : { reason: `stand-in ${status}` }),
  usage: {
    coder: { input_tokens: 1000, output_tokens: 200, cache_creation_input_tokens: 300, cache_read_input_tokens: 4000 },
    reviewer: { input_tokens: 500, output_tokens: 50, cache_creation_input_tokens: 0, cache_read_input_tokens: 100 },
  },
};
if (process.env.TERMINATION_LOG) writeFileSync(process.env.TERMINATION_LOG, JSON.stringify(result));
process.stdout.write(`${JSON.stringify({ msg: 'stand-in runner done', task_id: process.env.TASK_ID, code })}\n`);
process.exit(code);
