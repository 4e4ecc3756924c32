/**
 * Baseline of figure 5's start-up: the least a runner must do before its first model request,
 * as a bare Node process: clone the repository as the runner does, then POST one Messages
 * request. Env: REPO_URL, TOKEN, WORK_DIR, ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY, PATH, HOME.
 */
import { execFileSync } from 'node:child_process';

const env = (name: string): string => process.env[name] ?? '';
const basic = Buffer.from(`x-access-token:${env('TOKEN')}`).toString('base64');
execFileSync(
  'git',
  [
    '-c',
    `http.extraHeader=Authorization: Basic ${basic}`,
    'clone',
    '--quiet',
    '--depth',
    '50',
    '--filter=blob:none',
    '--single-branch',
    '--no-tags',
    '--branch',
    'main',
    '--',
    env('REPO_URL'),
    env('WORK_DIR'),
  ],
  {
    env: { PATH: env('PATH'), HOME: env('HOME'), GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' },
    stdio: 'inherit',
  },
);
const response = await fetch(`${env('ANTHROPIC_BASE_URL')}/v1/messages`, {
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    'x-api-key': env('ANTHROPIC_API_KEY'),
    'anthropic-version': '2023-06-01',
  },
  body: JSON.stringify({
    model: 'claude-sonnet-5-5',
    max_tokens: 1024,
    messages: [{ role: 'user', content: 'Fix the bug.' }],
  }),
});
await response.text();
