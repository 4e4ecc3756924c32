/**
 * `pnpm bench` runs `node bench/src/main.ts`. The workspace packages resolve to their TypeScript
 * sources only under the `source` export condition, so without it this re-runs itself with it.
 */
import { spawn } from 'node:child_process';

const hasSourceCondition = process.execArgv.some((arg) => /^--conditions?=source$/.test(arg));

if (hasSourceCondition) {
  await import('./run.ts');
} else {
  const child = spawn(process.execPath, ['--conditions=source', ...process.argv.slice(1)], { stdio: 'inherit' });
  // Ctrl-C reaches the child through the terminal's process group; only forward a direct SIGTERM.
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
