import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alertStorm } from './figures/alert-storm.ts';
import { dispatchOverhead } from './figures/dispatch-overhead.ts';
import { ingesterThroughput } from './figures/ingester-throughput.ts';
import { runnerStartup } from './figures/runner-startup.ts';
import { tokenCost } from './figures/token-cost.ts';
import type { BenchContext } from './support/context.ts';
import { describeMachine, machineLine } from './support/machine.ts';
import { type FigureResult, markdownTable } from './support/report.ts';

const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
/** The services' logs of this many runs are kept (tens of MB each). */
const KEPT_LOG_RUNS = 3;

const FIGURES: Record<string, { title: string; run: (ctx: BenchContext) => Promise<FigureResult> }> = {
  ingester: { title: 'Ingester throughput and latency', run: ingesterThroughput },
  dispatch: { title: 'Dispatch overhead', run: dispatchOverhead },
  storm: { title: 'Alert storm', run: alertStorm },
  tokens: { title: 'Token cost of a fix', run: tokenCost },
  runner: { title: 'Runner start-up and clone', run: runnerStartup },
};

/** `pnpm bench [figure ...]`: every figure by default, or the ones named. */
function selected(args: string[]): string[] {
  const names = args.length > 0 ? args : Object.keys(FIGURES);
  const unknown = names.filter((name) => !(name in FIGURES));
  if (unknown.length > 0) {
    console.error(`unknown figure(s): ${unknown.join(', ')}; known: ${Object.keys(FIGURES).join(', ')}`);
    process.exit(2);
  }
  return names;
}

async function main(): Promise<number> {
  const names = selected(process.argv.slice(2));
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const logDir = join(RESULTS_DIR, 'logs', stamp);
  const cacheDir = join(RESULTS_DIR, '.cache');
  await mkdir(logDir, { recursive: true });
  const logRuns = (await readdir(join(RESULTS_DIR, 'logs'))).sort();
  for (const old of logRuns.slice(0, -KEPT_LOG_RUNS)) {
    await rm(join(RESULTS_DIR, 'logs', old), { recursive: true, force: true });
  }
  await mkdir(cacheDir, { recursive: true });
  const tmpDir = await mkdtemp(join(tmpdir(), 'anton-bench-'));
  // A runner started as root runs the agent's commands as another user, who must reach its WORK_DIR.
  await chmod(tmpDir, 0o711);
  const machine = await describeMachine();
  const progress = (message: string) =>
    console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(0)} s] ${message}`);
  const t0 = performance.now();
  console.error(`pnpm bench on ${machineLine(machine)}`);

  const figures: FigureResult[] = [];
  try {
    for (const name of names) {
      const figure = FIGURES[name] as (typeof FIGURES)[string];
      const figureStarted = performance.now();
      progress(`${figure.title}…`);
      try {
        figures.push(await figure.run({ logDir, tmpDir, cacheDir, progress }));
      } catch (err) {
        const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
        console.error(`${figure.title} failed: ${error}`);
        figures.push({
          id: name,
          title: figure.title,
          rows: [],
          details: {},
          seconds: (performance.now() - figureStarted) / 1000,
          error,
        });
      }
    }
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }

  const totalSeconds = (performance.now() - t0) / 1000;
  const resultPath = join(RESULTS_DIR, `${stamp}.json`);
  await writeFile(
    resultPath,
    `${JSON.stringify({ startedAt: startedAt.toISOString(), totalSeconds, machine, figures, logDir }, null, 2)}\n`,
  );
  console.log(`\nanton benchmarks, ${startedAt.toISOString()}, on ${machineLine(machine)}\n`);
  console.log(markdownTable(figures));
  console.log(`\nfigures in ${figures.map((f) => `${f.id} ${f.seconds.toFixed(0)} s`).join(', ')}`);
  console.log(`total ${totalSeconds.toFixed(0)} s; results: ${resultPath}; service logs: ${logDir}`);
  // Slow figures are figures; only a benchmark that broke fails the command.
  return figures.some((f) => f.error) ? 1 : 0;
}

process.exitCode = await main();
