import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunnerContextInput } from '@anton/contracts';
import {
  createSampleRepo,
  FakeAnthropic,
  FakeGitHub,
  FakeOpenAI,
  type GitHttpServer,
  type MessagesRequest,
  type SampleRepo,
  type SampleRepoOptions,
  startGitHttpServer,
} from '@anton/testing';
import { type ProxyProcess, startProxyProcess } from './processes.ts';
import { makeTempDir, type TempDir } from './temp-dir.ts';

/** The token the git server and FakeGitHub both demand, as one GitHub token serves both. */
export const HARNESS_GITHUB_TOKEN = 'ghs_harnessToken0123456789abcdefABCDEF';

/**
 * Everything a runner talks to, real or faked: the sample repository behind a token-checking
 * smart-HTTP git server, FakeGitHub backed by that bare repository, FakeAnthropic and FakeOpenAI.
 */
export interface RunnerHarness {
  anthropic: FakeAnthropic;
  openai: FakeOpenAI;
  github: FakeGitHub;
  sample: SampleRepo;
  gitServer: GitHttpServer;
  repoUrl: string;
  tmp: TempDir;
  /** A task.json in a fresh directory; returns its path. */
  writeContext(overrides?: Partial<RunnerContextInput>): Promise<string>;
  /** A fresh, not yet existing work directory. */
  workDir(): string;
  /** Environment of a direct-mode runner (keys in its own environment). */
  directEnv(contextPath: string, workDir: string): Record<string, string>;
  /** The credential proxy's keys and upstreams (the fakes, the sample repository), as its config reads them. */
  proxyEnv(): Record<string, string>;
  /** Every secret the harness hands out, raw and as git's Basic credential: what must never leak. */
  secrets: string[];
  close(): Promise<void>;
}

export async function startRunnerHarness(sampleOptions: SampleRepoOptions = {}): Promise<RunnerHarness> {
  const sample = await createSampleRepo(sampleOptions);
  const [anthropic, openai, github, gitServer, tmp] = await Promise.all([
    FakeAnthropic.start(),
    FakeOpenAI.start(),
    FakeGitHub.start({ token: HARNESS_GITHUB_TOKEN }),
    startGitHttpServer({ root: sample.root, token: HARNESS_GITHUB_TOKEN }),
    makeTempDir('anton-harness-'),
  ]);
  github.addRepository('acme', 'sample-shop', { bareDir: sample.bareDir });
  // Searchable by others: a runner started as root runs the agent as a user of its own, which must
  // reach the work directories in here (see shell/agent-user.ts).
  await chmod(tmp.path, 0o711);
  const repoUrl = gitServer.repoUrl(sample.name);
  let counter = 0;
  return {
    anthropic,
    openai,
    github,
    sample,
    gitServer,
    repoUrl,
    tmp,
    async writeContext(overrides = {}) {
      counter += 1;
      const path = join(tmp.path, `task-${counter}.json`);
      const context: RunnerContextInput = {
        repo_url: repoUrl,
        base_branch: 'main',
        issue_id: 'SHOP-7',
        task_description: 'applyDiscount(200, 25) returns -4800 instead of 150.',
        ...overrides,
      };
      await writeFile(path, JSON.stringify(context));
      return path;
    },
    workDir() {
      counter += 1;
      return join(tmp.path, `work-${counter}`);
    },
    directEnv(contextPath, workDir) {
      return {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: tmp.path,
        LANG: 'C.UTF-8',
        CONTEXT_PATH: contextPath,
        WORK_DIR: workDir,
        ANTHROPIC_API_KEY: anthropic.apiKey,
        ANTHROPIC_BASE_URL: anthropic.url,
        OPENAI_API_KEY: openai.apiKey,
        OPENAI_BASE_URL: openai.baseURL,
        GITHUB_TOKEN: HARNESS_GITHUB_TOKEN,
        GITHUB_API_URL: github.url,
        // The fakes serve the API and git on two ports; on GitHub both derive from GITHUB_API_URL.
        GITHUB_GIT_URL: gitServer.url,
        API_MAX_RETRIES: '0',
        SHELL_TIMEOUT: '60',
      };
    },
    proxyEnv() {
      return {
        ANTHROPIC_API_KEY: anthropic.apiKey,
        OPENAI_API_KEY: openai.apiKey,
        GITHUB_TOKEN: HARNESS_GITHUB_TOKEN,
        ANTHROPIC_BASE_URL: anthropic.url,
        OPENAI_BASE_URL: openai.baseURL,
        GITHUB_API_URL: github.url,
        GITHUB_GIT_URL: gitServer.url,
        ALLOWED_REPOSITORY: repoUrl,
      };
    },
    secrets: [
      anthropic.apiKey,
      openai.apiKey,
      HARNESS_GITHUB_TOKEN,
      Buffer.from(`x-access-token:${HARNESS_GITHUB_TOKEN}`).toString('base64'),
    ],
    async close() {
      await Promise.all([anthropic.close(), openai.close(), github.close(), gitServer.close()]);
      await sample.cleanup();
      await tmp.cleanup();
    },
  };
}

/** The credential proxy as its own process for task `taskId`, holding the harness's keys as the Job's sidecar does. */
export function startHarnessProxy(h: RunnerHarness, taskId: string): Promise<ProxyProcess> {
  return startProxyProcess({ PATH: process.env.PATH ?? '/usr/bin:/bin', TASK_ID: taskId, ...h.proxyEnv() });
}

export const approve = (reason = 'Fixes the formula; tests pass.') => ({
  content: JSON.stringify({ approved: true, reason, problems: [] }),
});

export const reject = (reason: string, problems: string[] = []) => ({
  content: JSON.stringify({ approved: false, reason, problems }),
});

/** Every tool result the runner sent back to the model, as its last request carries them all. */
export function toolResults(h: RunnerHarness): string[] {
  const last = h.anthropic.received('/v1/messages').at(-1)?.json as MessagesRequest | undefined;
  return (last?.messages ?? []).flatMap((message) =>
    typeof message.content === 'string'
      ? []
      : message.content.flatMap((block) =>
          block.type === 'tool_result'
            ? [typeof block.content === 'string' ? block.content : JSON.stringify(block.content)]
            : [],
        ),
  );
}
