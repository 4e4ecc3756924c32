import { execFile } from 'node:child_process';
import { chmod, chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSampleRepo, type SampleRepo } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNNER_ROOT } from '../testing/processes.ts';
import { git, makeTempDir, type TempDir } from '../testing/temp-dir.ts';

/**
 * The Job runs the runner as uid 0 with every capability dropped but SETUID, SETGID and KILL: no
 * CHOWN, no DAC_OVERRIDE. The workspace must work like that in a pod's emptyDirs (root, group
 * fsGroup, mode 2777), which is what `setpriv --bounding-set` gives this child process.
 */
describe("the workspace with only the Job's capabilities", () => {
  let repo: SampleRepo;
  let tmp: TempDir;
  beforeAll(async () => {
    if (process.geteuid?.() !== 0)
      throw new Error('this test must run as root, as the runner does in its pod (and CI)');
    repo = await createSampleRepo();
    tmp = await makeTempDir();
    await chmod(tmp.path, 0o711);
  });
  afterAll(async () => {
    await repo.cleanup();
    await tmp.cleanup();
  });

  it('clones, lets the agent change a file, and pushes the reviewed commit', async () => {
    const fsGroup = 10001;
    const dir = join(tmp.path, 'workspace');
    const stateDir = join(tmp.path, 'tmp');
    for (const path of [dir, stateDir]) {
      await mkdir(path);
      await chown(path, 0, fsGroup);
      await chmod(path, 0o2777);
    }
    const args = JSON.stringify({ dir, stateDir, url: repo.url, uid: 10001, gid: fsGroup });
    const { stdout } = await promisify(execFile)(
      'setpriv',
      [
        '--bounding-set=-all,+setuid,+setgid,+kill',
        '--inh-caps=-all',
        process.execPath,
        '--conditions=source',
        'src/testing/workspace-in-pod.ts',
        args,
      ],
      { cwd: RUNNER_ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    // SETUID (7), SETGID (6) and KILL (5) only.
    expect(result.capEff).toBe('00000000000000e0');
    expect(result.agent).toContain(' M README.md');
    expect(result.stat).toMatch(/README\.md\s+\|/);
    expect(await git(repo.bareDir, 'rev-parse', 'refs/heads/fix/capabilities')).toBe(result.sha);
  });
});
