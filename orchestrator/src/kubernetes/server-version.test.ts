import { describe, expect, it } from 'vitest';
import { requireSupportedKubernetes, type ServerVersion, UnsupportedKubernetesError } from './server-version.ts';

const server = (major: string, minor: string, gitVersion: string) => ({
  serverVersion: async (): Promise<ServerVersion> => ({ major, minor, gitVersion }),
});

describe('requireSupportedKubernetes', () => {
  it.each([
    ['1', '29', 'v1.29.0'],
    ['1', '33', 'v1.33.1'],
    ['1', '30+', 'v1.30.4-eks-a737599'],
    ['', '', 'v1.31.2-gke.1'],
    ['2', '0', 'v2.0.0'],
  ])('accepts %s.%s (%s)', async (major, minor, git) => {
    await expect(requireSupportedKubernetes(server(major, minor, git))).resolves.toMatchObject({ gitVersion: git });
  });

  it.each([
    ['1', '28', 'v1.28.9'],
    ['1', '28+', 'v1.28.9-eks-036c24b'],
    ['', '', 'v1.27.3'],
  ])('refuses %s.%s (%s), saying why in one line', async (major, minor, git) => {
    const check = requireSupportedKubernetes(server(major, minor, git));
    await expect(check).rejects.toThrow(UnsupportedKubernetesError);
    await expect(check).rejects.toThrow(
      `Kubernetes ${git} is too old: anton's runner Jobs need Kubernetes 1.29 or newer (native sidecar containers)`,
    );
  });

  it('refuses a version it cannot read', async () => {
    await expect(requireSupportedKubernetes(server('', '', 'unknown'))).rejects.toThrow(
      /^cannot tell the Kubernetes version/,
    );
  });
});
