import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSampleRepo, FakeAnthropic, type GitHttpServer, startGitHttpServer } from '@anton/testing';
import type { BenchContext } from '../support/context.ts';
import { heavyRepo } from '../support/heavy-repo.ts';
import { type FigureResult, ratioOf } from '../support/report.ts';
import { runToEnd } from '../support/run-process.ts';
import { baseEnv, ENTRY_POINTS, REPO_ROOT } from '../support/service-process.ts';
import { median } from '../support/stats.ts';

const run = promisify(execFile);
const FIRST_REQUEST = new URL('../baselines/first-request.ts', import.meta.url).pathname;
const TOKEN = 'ghs_benchToken0123456789abcdefABCDEFab';
const STARTUP_RUNS = 3;
const CLONE_RUNS = { runner: 3, plain: 2 };

async function diskKb(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sk', dir]);
  return Number(stdout.split('\t')[0]);
}

/** ms since the epoch of the first log line with `msg` (the runner logs ISO times). */
function loggedAt(output: string, msg: string): number | undefined {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; time?: string | number };
    if (entry.msg === msg && entry.time !== undefined) return new Date(entry.time).getTime();
  }
  return undefined;
}

/**
 * Figure 5: the runner process (real entry point, direct mode, against FakeAnthropic and the
 * token-checking smart-HTTP git server) from spawn to its first model request on the sample
 * repository, beside a bare Node process that clones the same way and sends one request; and
 * the runner's clone of a repository with a long, heavy history (time and disk) beside a plain
 * full `git clone` of it over the same server.
 */
export async function runnerStartup(ctx: BenchContext): Promise<FigureResult> {
  const started = performance.now();
  const heavy = await heavyRepo(ctx.cacheDir, ctx.progress);
  const anthropic = await FakeAnthropic.start();
  let firstRequestAt: number | undefined;
  anthropic.setHandler((request) => {
    firstRequestAt ??= performance.now();
    // The coder submits at once: nothing changed, the runner ends (exit 2) without a review.
    return request.tools?.length
      ? { content: [{ type: 'tool_use', name: 'submit_changes', input: { summary: 'Nothing to change' } }] }
      : { content: [{ type: 'text', text: 'ok' }] };
  });
  const sample = await createSampleRepo();
  const servers: GitHttpServer[] = [];
  let counter = 0;
  try {
    const sampleServer = await startGitHttpServer({ root: sample.root, token: TOKEN });
    servers.push(sampleServer);
    const heavyServer = await startGitHttpServer({ root: heavy.root, token: TOKEN });
    servers.push(heavyServer);
    const fresh = async () => {
      counter += 1;
      const dir = join(ctx.tmpDir, `run-${counter}`);
      await mkdir(dir, { recursive: true });
      return { dir, work: join(dir, 'work'), log: join(ctx.logDir, `runner-${counter}.log`) };
    };

    const runner = async (repoUrl: string) => {
      const { dir, work, log } = await fresh();
      const context = join(dir, 'task.json');
      await writeFile(
        context,
        JSON.stringify({
          repo_url: repoUrl,
          base_branch: 'main',
          issue_id: 'BENCH-1',
          task_description: 'applyDiscount(200, 25) returns -4800 instead of 150.',
        }),
      );
      firstRequestAt = undefined;
      const ended = await runToEnd({
        args: ['--conditions=source', ENTRY_POINTS.runner],
        cwd: join(REPO_ROOT, 'runner'),
        logPath: log,
        env: {
          ...baseEnv(),
          HOME: dir,
          TASK_ID: '7d0c1d2e-5b9a-4c43-9a51-3f3c0f6a2b10',
          CONTEXT_PATH: context,
          WORK_DIR: work,
          TERMINATION_LOG: join(dir, 'termination.json'),
          ANTHROPIC_API_KEY: anthropic.apiKey,
          ANTHROPIC_BASE_URL: anthropic.url,
          OPENAI_API_KEY: 'sk-unused',
          GITHUB_TOKEN: TOKEN,
          GITHUB_API_URL: 'http://127.0.0.1:9',
          API_MAX_RETRIES: '0',
        },
      });
      if (ended.exitCode !== 2 || firstRequestAt === undefined) {
        throw new Error(`the runner did not run as scripted (exit ${ended.exitCode}): ${ended.output.slice(-2000)}`);
      }
      const starting = loggedAt(ended.output, 'runner starting');
      const cloned = loggedAt(ended.output, 'repository cloned');
      const result = {
        toFirstRequestMs: firstRequestAt - ended.startedAt,
        cloneMs: starting !== undefined && cloned !== undefined ? cloned - starting : Number.NaN,
        diskKb: await diskKb(work),
      };
      await rm(dir, { recursive: true, force: true });
      return result;
    };

    const bareFirstRequest = async () => {
      const { dir, work, log } = await fresh();
      firstRequestAt = undefined;
      const ended = await runToEnd({
        args: ['--conditions=source', FIRST_REQUEST],
        cwd: REPO_ROOT,
        logPath: log,
        env: {
          ...baseEnv(),
          HOME: dir,
          REPO_URL: sampleServer.repoUrl(sample.name),
          TOKEN,
          WORK_DIR: work,
          ANTHROPIC_BASE_URL: anthropic.url,
          ANTHROPIC_API_KEY: anthropic.apiKey,
        },
      });
      if (ended.exitCode !== 0 || firstRequestAt === undefined)
        throw new Error(`first-request failed: ${ended.output}`);
      await rm(dir, { recursive: true, force: true });
      return firstRequestAt - ended.startedAt;
    };

    const plainClone = async () => {
      const { dir, work, log } = await fresh();
      const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
      const ended = await runToEnd({
        command: 'git',
        args: [
          '-c',
          `http.extraHeader=Authorization: Basic ${basic}`,
          'clone',
          '--quiet',
          heavyServer.repoUrl(heavy.name),
          work,
        ],
        cwd: dir,
        logPath: log,
        env: { ...baseEnv(), HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' },
      });
      if (ended.exitCode !== 0) throw new Error(`git clone failed: ${ended.output}`);
      const result = { cloneMs: ended.seconds * 1000, diskKb: await diskKb(work) };
      await rm(dir, { recursive: true, force: true });
      return result;
    };

    ctx.progress('figure 5: runner start-up on the sample repository');
    const sampleUrl = sampleServer.repoUrl(sample.name);
    await runner(sampleUrl);
    await bareFirstRequest();
    const startups: Array<Awaited<ReturnType<typeof runner>>> = [];
    const bareStartups: number[] = [];
    for (let i = 0; i < STARTUP_RUNS; i++) {
      startups.push(await runner(sampleUrl));
      bareStartups.push(await bareFirstRequest());
    }

    ctx.progress('figure 5: clones of the heavy repository');
    const heavyUrl = heavyServer.repoUrl(heavy.name);
    await plainClone(); // warms the page cache for both
    const runnerClones: Array<Awaited<ReturnType<typeof runner>>> = [];
    const plainClones: Array<Awaited<ReturnType<typeof plainClone>>> = [];
    for (let i = 0; i < Math.max(CLONE_RUNS.runner, CLONE_RUNS.plain); i++) {
      if (i < CLONE_RUNS.runner) runnerClones.push(await runner(heavyUrl));
      if (i < CLONE_RUNS.plain) plainClones.push(await plainClone());
    }

    const startupMs = median(startups.map((s) => s.toFirstRequestMs));
    const bareMs = median(bareStartups);
    const cloneMs = median(runnerClones.map((c) => c.cloneMs));
    const plainMs = median(plainClones.map((c) => c.cloneMs));
    const cloneRatio = ratioOf(cloneMs, plainMs);
    const diskMb = median(runnerClones.map((c) => c.diskKb)) / 1024;
    const plainDiskMb = median(plainClones.map((c) => c.diskKb)) / 1024;
    return {
      id: 'runner',
      title: 'Runner start-up and clone',
      rows: [
        {
          figure: '5 runner start → first model request (sample repo)',
          unit: 'ms',
          anton: startupMs,
          baseline: bareMs,
          baselineName: 'bare node: clone + request',
          ratio: ratioOf(startupMs, bareMs),
          target: '< 2,000 ms',
          met: startupMs < 2000,
        },
        {
          figure: `5 clone of a heavy history (${heavy.commits} commits)`,
          unit: 'ms',
          anton: cloneMs,
          baseline: plainMs,
          baselineName: 'plain full clone',
          ratio: cloneRatio,
          target: '≤ 0.20× (≥ 5× faster)',
          met: cloneRatio !== undefined && cloneRatio <= 0.2,
        },
        {
          figure: '5 disk used by that clone',
          unit: 'MB',
          anton: diskMb,
          baseline: plainDiskMb,
          baselineName: 'plain full clone',
          ratio: ratioOf(diskMb, plainDiskMb),
        },
      ],
      details: { startups, bareStartups, runnerClones, plainClones, heavyRepository: heavy },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const server of servers) await server.close();
    await anthropic.close();
    await sample.cleanup();
  }
}
