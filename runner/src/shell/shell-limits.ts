import type { ShellLimits } from './run-shell.ts';

/**
 * Resource limits of the agent's commands. Processes count threads too, per user, and a JVM build
 * runs dozens of them, so the cap is high enough for Maven or Gradle and still stops a fork bomb
 * long before the pod's memory limit. CPU time is per process; the wall-clock timeout is the real
 * bound, this only catches a spinning process on a many-core node.
 */
export function shellLimits(timeoutMs: number): ShellLimits {
  return {
    maxProcesses: 1024,
    maxFileBytes: 1024 * 1024 * 1024,
    cpuSeconds: Math.ceil((timeoutMs / 1000) * 4),
  };
}
