import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './service-process.ts';

/** What a Deployment gives one of its containers: the memory limit and the Node settings. */
export interface PodLimits {
  /** The Deployment file read (relative to the repository). */
  file: string;
  memoryLimitMb: number;
  /** The container's NODE_OPTIONS ('' when it sets none). */
  nodeOptions: string;
}

const UNITS: Record<string, number> = {
  Ki: 1 / 1024,
  Mi: 1,
  Gi: 1024,
  K: 1e3 / 2 ** 20,
  M: 1e6 / 2 ** 20,
  G: 1e9 / 2 ** 20,
};

/** A Kubernetes memory quantity (`256Mi`, `1G`, bytes) in MiB. */
export function quantityMb(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(quantity);
  if (!match?.[1]) throw new Error(`not a memory quantity: ${quantity}`);
  return Number(match[1]) * (match[2] ? (UNITS[match[2]] as number) : 1 / 2 ** 20);
}

interface Container {
  name?: string;
  env?: { name: string; value?: string }[];
  resources?: { limits?: { memory?: string } };
}

interface Manifest {
  kind?: string;
  metadata?: { name?: string };
  spec?: { template?: { spec?: { containers?: Container[] } } };
}

/**
 * The limits of `container` in the Deployment `name`, from the manifests in deploy/k8s (the base
 * of the overlays when there is one), so the bench measures what a pod gets.
 */
export async function podLimits(file: string, name: string, container: string): Promise<PodLimits> {
  const candidates = [join('deploy/k8s/base', file), join('deploy/k8s', file)];
  for (const relative of candidates) {
    const path = join(REPO_ROOT, relative);
    if (
      !(await access(path).then(
        () => true,
        () => false,
      ))
    )
      continue;
    for (const document of parseAllDocuments(await readFile(path, 'utf8'))) {
      const manifest = document.toJS() as Manifest | null;
      if (manifest?.kind !== 'Deployment' || manifest.metadata?.name !== name) continue;
      const found = manifest.spec?.template?.spec?.containers?.find((c) => c.name === container);
      const memory = found?.resources?.limits?.memory;
      if (!memory) throw new Error(`${relative}: container ${container} has no memory limit`);
      const nodeOptions = found?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
      return { file: relative, memoryLimitMb: quantityMb(memory), nodeOptions };
    }
  }
  throw new Error(`no Deployment ${name} in ${candidates.join(' or ')}`);
}
