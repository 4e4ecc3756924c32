import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { once } from 'node:events';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { runGit } from '@anton/testing';

const COMMITS = 300;
const BINARY_FILES = 16;
const BLOB_BYTES = 1024 * 1024;
const SOURCE_FILES = 20;
const VERSION = `v1-${COMMITS}x${BLOB_BYTES}`;
const EPOCH = 1_704_067_200;

export interface HeavyRepo {
  /** Served root: the repository is `<root>/acme/heavy.git`. */
  root: string;
  name: string;
  bareDir: string;
  commits: number;
}

/** `bytes` of deterministic noise (AES-CTR keystream): incompressible, like images or models. */
function noise(label: string, bytes: number): Buffer {
  const seed = createHash('sha256').update(`anton-bench:${label}`).digest();
  const cipher = createCipheriv('aes-256-ctr', seed, seed.subarray(0, 16));
  return Buffer.concat([cipher.update(Buffer.alloc(bytes)), cipher.final()]);
}

async function write(stream: Writable, chunk: Buffer | string): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

async function data(stream: Writable, content: Buffer | string): Promise<void> {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  await write(stream, `data ${bytes.length}\n`);
  await write(stream, bytes);
  await write(stream, '\n');
}

/** The fast-import stream: a small project whose binary assets are rewritten in every commit. */
async function history(stdin: Writable): Promise<void> {
  const person = (i: number) => `Anton Bench <bench@anton.test> ${EPOCH + i * 3600} +0000`;
  let changelog = '# Changelog\n';
  for (let commit = 0; commit < COMMITS; commit++) {
    const files = commit === 0 ? Array.from({ length: BINARY_FILES }, (_, f) => f) : [commit % BINARY_FILES];
    for (const file of files) {
      await write(stdin, `blob\nmark :${commit * BINARY_FILES + file + 1}\n`);
      await data(stdin, noise(`asset-${file}-${commit}`, BLOB_BYTES));
    }
    changelog += `- change ${commit}: asset ${commit % BINARY_FILES} regenerated\n`;
    await write(stdin, `commit refs/heads/main\nauthor ${person(commit)}\ncommitter ${person(commit)}\n`);
    await data(stdin, `Regenerate asset ${commit % BINARY_FILES} (change ${commit})\n`);
    for (const file of files) {
      const name = `assets/asset-${String(file).padStart(2, '0')}.bin`;
      await write(stdin, `M 100644 :${commit * BINARY_FILES + file + 1} ${name}\n`);
    }
    await write(stdin, 'M 100644 inline CHANGELOG.md\n');
    await data(stdin, changelog);
    const source = commit % SOURCE_FILES;
    await write(stdin, `M 100644 inline src/module-${source}.js\n`);
    await data(stdin, `export const version${source} = ${commit};\n`);
    await write(stdin, '\n');
  }
  stdin.end();
}

/**
 * A repository with a long, heavy history (300 commits, each rewriting a 1 MiB binary asset: about
 * 316 MB of pack) generated once with git fast-import and kept in `cacheDir`, so reruns are fast.
 */
export async function heavyRepo(cacheDir: string, progress: (message: string) => void): Promise<HeavyRepo> {
  const root = join(cacheDir, `heavy-repo-${VERSION}`);
  const name = 'acme/heavy';
  const bareDir = join(root, `${name}.git`);
  const done = join(root, 'COMPLETE');
  const repo = { root, name, bareDir, commits: COMMITS };
  if (
    await access(done).then(
      () => true,
      () => false,
    )
  )
    return repo;

  progress(`generating the heavy repository (${COMMITS} commits, once; cached in ${root})`);
  await rm(root, { recursive: true, force: true });
  await mkdir(bareDir, { recursive: true });
  await runGit(['init', '--quiet', '--bare', '--initial-branch=main', bareDir]);
  const importer = spawn('git', ['-c', 'pack.compression=1', 'fast-import', '--quiet'], {
    cwd: bareDir,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  importer.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(importer, 'exit') as Promise<[number | null]>;
  // An importer that stops reading ends the stream with EPIPE; its exit code and stderr say why.
  await history(importer.stdin).catch(() => undefined);
  const [code] = await exited;
  if (code !== 0) throw new Error(`git fast-import failed (${code}): ${stderr}`);
  await runGit(['gc', '--quiet', '--prune=now'], { cwd: bareDir });
  await writeFile(done, `${new Date().toISOString()}\n`);
  return repo;
}
