// Run by workspace-capabilities.test.ts in a process holding only the capabilities the Job gives
// the runner: clones, lets the agent's uid change a file, reviews, commits, pushes. Argument: JSON.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gitAccessFor } from '../workspace/git-access.ts';
import { gitEnvironment } from '../workspace/run-git.ts';
import { Workspace } from '../workspace/workspace.ts';

const { dir, stateDir, url, uid, gid } = JSON.parse(process.argv[2] ?? '{}');
const ws = await Workspace.clone({
  dir,
  privateDir: stateDir,
  access: gitAccessFor(url, { kind: 'direct', token: undefined }),
  baseBranch: 'main',
  branch: 'fix/capabilities',
  env: gitEnvironment(process.env),
  owner: { uid, gid },
});
const agent = spawnSync('sh', ['-c', 'echo changed > README.md && git status --short'], {
  cwd: ws.dir,
  uid,
  gid,
  env: { ...gitEnvironment(process.env), ...ws.agentGitEnv },
  encoding: 'utf8',
});
const { stat } = await ws.stagedDiff();
const sha = await ws.commit('fix(cap): change');
await ws.push();
await ws.close();
const caps = /CapEff:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'));
process.stdout.write(`${JSON.stringify({ agent: agent.stdout + agent.stderr, stat, sha, capEff: caps?.[1] })}\n`);
