import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FIXTURE_EPOCH_SECONDS, runGit } from './git-env.ts';

/** `testing/sample-project/`: a tiny library whose test fails until its pricing bug is fixed. */
export const SAMPLE_PROJECT_DIR = fileURLToPath(new URL('../../sample-project/', import.meta.url));

/** The one-line fix that makes the sample project's test pass (file, buggy text, fixed text). */
export const SAMPLE_FIX = {
  file: 'src/pricing.js',
  buggy: 'price * percent;',
  fixed: 'price * (percent / 100);',
} as const;

export interface SampleCommit {
  /** Branch to commit on (default `main`); created from `main` when it does not exist yet. */
  branch?: string;
  message: string;
  /** Path → new content; `null` deletes the file. */
  files: Record<string, string | null>;
}

export interface SampleRepoOptions {
  /** Directory to create the repository in (default: a fresh temp dir, removed by `cleanup`). */
  root?: string;
  /** Path of the repository under `root`, without `.git` (default `acme/sample-shop`). */
  name?: string;
  /** Extra branches pointing at the initial commit of `main`. */
  branches?: string[];
  /** Commits made after the initial one, in order. */
  commits?: SampleCommit[];
}

export interface SampleRepo {
  root: string;
  name: string;
  /** The bare repository: `<root>/<name>.git`. */
  bareDir: string;
  /** `file://` URL of the bare repository. */
  url: string;
  /** Commit `main` points at. */
  mainSha: string;
  cleanup(): Promise<void>;
}

/**
 * Makes a bare repository whose `main` holds the sample project in one commit, with a fixed
 * author and date, so the same sample always gives the same commit hashes.
 */
export async function createSampleRepo(options: SampleRepoOptions = {}): Promise<SampleRepo> {
  const ownRoot = options.root === undefined;
  const root = options.root ?? (await mkdtemp(join(tmpdir(), 'anton-git-')));
  const name = options.name ?? 'acme/sample-shop';
  const bareDir = join(root, `${name}.git`);
  const work = await mkdtemp(join(tmpdir(), 'anton-sample-work-'));
  try {
    await cp(SAMPLE_PROJECT_DIR, work, {
      recursive: true,
      filter: (src) => !relative(SAMPLE_PROJECT_DIR, src).split(sep).includes('node_modules'),
    });
    let clock = FIXTURE_EPOCH_SECONDS;
    const commit = async (message: string): Promise<void> => {
      const date = `@${clock} +0000`;
      clock += 60;
      await runGit(['add', '-A'], { cwd: work });
      await runGit(['commit', '-q', '--allow-empty', '-m', message], {
        cwd: work,
        env: { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
      });
    };
    await runGit(['init', '-q', '-b', 'main'], { cwd: work });
    await commit('Add sample-shop pricing library');
    for (const branch of options.branches ?? []) await runGit(['branch', branch, 'main'], { cwd: work });
    for (const extra of options.commits ?? []) {
      const branch = extra.branch ?? 'main';
      const exists = await runGit(['branch', '--list', branch], { cwd: work });
      await runGit(exists ? ['checkout', '-q', branch] : ['checkout', '-q', '-b', branch, 'main'], { cwd: work });
      for (const [path, content] of Object.entries(extra.files)) {
        const target = join(work, path);
        if (content === null) await rm(target, { force: true });
        else {
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, content);
        }
      }
      await commit(extra.message);
    }
    await mkdir(bareDir, { recursive: true });
    await runGit(['init', '-q', '--bare', '-b', 'main', bareDir]);
    await runGit(['push', '-q', bareDir, 'refs/heads/*:refs/heads/*'], { cwd: work });
    const mainSha = await runGit(['--git-dir', bareDir, 'rev-parse', 'refs/heads/main']);
    return {
      root,
      name,
      bareDir,
      url: pathToFileURL(bareDir).href,
      mainSha,
      cleanup: () => rm(ownRoot ? root : bareDir, { recursive: true, force: true }),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
