import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const docs = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
  'ingester/README.md',
  'orchestrator/README.md',
  'runner/README.md',
  'bench/README.md',
];

/** `](target)` links that point into the repository (not web addresses, not anchors of the same page). */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map(([, target = '']) => target.split('#')[0] ?? '')
    .filter((target) => target !== '' && !/^[a-z]+:/.test(target));
}

describe('links in the docs', () => {
  it.each(docs)('every relative link of %s names a file in the repository', (doc) => {
    const dir = dirname(join(root, doc));
    const broken = relativeLinks(readFileSync(join(root, doc), 'utf8')).filter(
      (target) => !existsSync(resolve(dir, target)),
    );
    expect(broken.map((target) => relative(root, resolve(dir, target)))).toEqual([]);
  });
});
