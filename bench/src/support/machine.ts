import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Machine {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
  git: string;
  /** 1-minute load average when the run started: other work on a shared machine shows here. */
  loadAverage: number;
}

export async function describeMachine(): Promise<Machine> {
  const git = await run('git', ['--version']).then(
    ({ stdout }) => stdout.trim().replace(/^git version /, ''),
    () => 'unknown',
  );
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    git,
    loadAverage: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
  };
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}, git ${m.git}, ${m.os}, load ${m.loadAverage} at start`;
}
