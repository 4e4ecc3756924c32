/**
 * `pnpm bench` runs `node --conditions=source bench/src/main.ts`: the workspace packages resolve
 * to their TypeScript sources only under that export condition, so without it the figures'
 * imports would fail to resolve; say how to run it instead.
 */
const hasSourceCondition = process.execArgv.some((arg) => /^--conditions?=source$/.test(arg));

if (hasSourceCondition) {
  await import('./run.ts');
} else {
  console.error('run the benchmark with `pnpm bench` (or `node --conditions=source bench/src/main.ts`)');
  process.exitCode = 2;
}
