import { randomInt } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PermanentFailure } from '../errors.ts';

/** The uid and gid the agent's commands run as, when the runner runs as root. */
export interface AgentUser {
  uid: number;
  gid: number;
}

// Far above any real account (useradd allocates below 60000; container images stay low too), so a
// random pick in it is unused by any other process on the machine, another runner's agent included.
const FIRST_UID = 1_000_000;
const LAST_UID = 2_000_000_000;

/**
 * A process of the runner's own uid could read the runner's memory and /proc/<pid>/environ, and
 * outlive a sweep; root is not bounded by RLIMIT_NPROC and can change anything. So the runner runs
 * as root (in the Job: uid 0 with only SETUID, SETGID and KILL) and runs the agent's commands as a
 * uid and gid of their own: the configured ones (the pod's 10001), else random ones unused by
 * anything else. The uid must be used by no other process the runner can see: every process of
 * it is killed after each command (agent-sweep.ts). A runner that is not root cannot switch:
 * undefined, and main.ts refuses to run unless told it may share its uid with the agent.
 */
export function agentUserFor(
  euid: number | undefined,
  configured: { uid?: number | undefined; gid?: number | undefined } = {},
): AgentUser | undefined {
  if (euid !== 0) return undefined;
  const uid = configured.uid ?? randomInt(FIRST_UID, LAST_UID);
  return { uid, gid: configured.gid ?? uid };
}

/**
 * The agent's uid must be able to reach the work directory: every directory above it searchable
 * by "others" (the agent's uid and gid are nobody's). Checked before anything is cloned, so a
 * private temp directory (mkdtemp makes 0700) fails the run with a reason instead of every command.
 */
export async function assertReachableByAgent(dir: string): Promise<void> {
  let current = dirname(resolve(dir));
  for (;;) {
    const mode = await stat(current)
      .then((info) => info.mode)
      .catch(() => undefined);
    // A missing ancestor is created by the clone with the default mode (searchable).
    if (mode !== undefined && (mode & 0o001) === 0) {
      throw new PermanentFailure(
        `the agent's commands run as an unprivileged user (the runner runs as root), which cannot reach ` +
          `WORK_DIR ${dir}: ${current} is not searchable by others (chmod o+x, e.g. 0711)`,
      );
    }
    const parent = dirname(current);
    if (parent === current) return;
    current = parent;
  }
}
