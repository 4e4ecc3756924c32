import type { KubernetesApi } from './kubernetes-api.ts';

/** Runner Jobs run the credential proxy as a native sidecar (an init container with restartPolicy Always). */
export const MINIMUM_KUBERNETES = { major: 1, minor: 29 } as const;

/** The API server's `/version` answer, as far as the check reads it. */
export interface ServerVersion {
  major: string;
  minor: string;
  gitVersion: string;
}

/** The cluster cannot run anton's Jobs; the message is the one line the process ends with. */
export class UnsupportedKubernetesError extends Error {
  override name = 'UnsupportedKubernetesError';
}

/**
 * major and minor as numbers. Managed clusters answer `minor: "29+"` (EKS, GKE); when a field is
 * not a number, the gitVersion (`v1.29.3-eks-...`) tells.
 */
function parse(version: ServerVersion): { major: number; minor: number } | undefined {
  const major = Number.parseInt(version.major, 10);
  const minor = Number.parseInt(version.minor, 10);
  if (Number.isInteger(major) && Number.isInteger(minor)) return { major, minor };
  const git = /^v(\d+)\.(\d+)/.exec(version.gitVersion);
  return git ? { major: Number(git[1]), minor: Number(git[2]) } : undefined;
}

/** Throws UnsupportedKubernetesError unless the API server is at least MINIMUM_KUBERNETES. */
export async function requireSupportedKubernetes(api: Pick<KubernetesApi, 'serverVersion'>): Promise<ServerVersion> {
  const version = await api.serverVersion();
  const parsed = parse(version);
  const { major, minor } = MINIMUM_KUBERNETES;
  const needed = `anton's runner Jobs need Kubernetes ${major}.${minor} or newer (native sidecar containers)`;
  if (!parsed) {
    throw new UnsupportedKubernetesError(`cannot tell the Kubernetes version (${JSON.stringify(version)}); ${needed}`);
  }
  if (parsed.major < major || (parsed.major === major && parsed.minor < minor)) {
    throw new UnsupportedKubernetesError(
      `Kubernetes ${version.gitVersion || `${parsed.major}.${parsed.minor}`} is too old: ${needed}`,
    );
  }
  return version;
}
