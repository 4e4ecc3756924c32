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
 * Root is not bounded by RLIMIT_NPROC (a fork bomb), can read every process's environment in
 * /proc (a local dispatcher's keys), and can change anything on the machine. So a runner running
 * as root runs the agent's commands, and its own git, as a uid and gid of their own, chosen at
 * random and unused by anything else: the fork bomb limit then binds, other processes' /proc
 * entries are closed to them, and every process left behind can be found by its uid and killed.
 * A runner that is not root (the image runs as 10001) keeps its own user: it cannot switch.
 */
export function agentUserFor(euid: number | undefined): AgentUser | undefined {
  if (euid !== 0) return undefined;
  const id = randomInt(FIRST_UID, LAST_UID);
  return { uid: id, gid: id };
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
