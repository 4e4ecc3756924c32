import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';

/** Kubernetes' default terminationMessagePath; used when TERMINATION_LOG is unset and it exists. */
const KUBERNETES_TERMINATION_LOG = '/dev/termination-log';

export function terminationLogFile(configured: string | undefined): string | undefined {
  if (configured) return configured;
  return existsSync(KUBERNETES_TERMINATION_LOG) ? KUBERNETES_TERMINATION_LOG : undefined;
}

/** Writes the result where the Job watcher reads it; a failure is returned, not thrown. */
export async function writeTerminationLog(path: string | undefined, text: string): Promise<Error | undefined> {
  if (path === undefined) return undefined;
  try {
    await writeFile(path, text);
    return undefined;
  } catch (err) {
    return err as Error;
  }
}
