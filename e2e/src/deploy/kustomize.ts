import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

// The deploy files as a cluster gets them: rendered by the real kubectl's kustomize (kubectl
// apply -k runs the same code), not parsed file by file.

/** A rendered Kubernetes object (checked against the schema by the tests, then read freely). */
// biome-ignore lint/suspicious/noExplicitAny: manifests are validated by schema in the tests.
export type Manifest = any;

const KUBECTL = '/usr/bin/kubectl';

/** Every directory under `root` holding a kustomization.yaml, relative to `root`. */
export function kustomizations(root: string, dir = root): string[] {
  const here = existsSync(join(dir, 'kustomization.yaml')) ? [relative(root, dir) || '.'] : [];
  const below = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => kustomizations(root, join(dir, entry.name)));
  return [...here, ...below];
}

/** `kubectl kustomize <dir>`: the objects `kubectl apply -k <dir>` would send; throws with kubectl's error. */
export function render(dir: string): Manifest[] {
  const output = execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(output).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${dir}: ${doc.errors.join('; ')}`);
    return doc.toJS();
  });
}

/** `Kind/name`, how the tests name an object. */
export const idOf = (m: Manifest): string => `${m.kind}/${m.metadata?.name}`;
