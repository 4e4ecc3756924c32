import { RESOURCES, type ResourceType } from './resources.ts';

// The discovery documents (the "legacy" unaggregated form every client understands) for the
// resources the fake serves, and the version it claims to be.

export const SERVER_VERSION = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.1',
  gitCommit: '8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828',
  gitTreeState: 'clean',
  buildDate: '2025-05-15T08:19:08Z',
  goVersion: 'go1.24.2',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const READ_WRITE = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function apiResource(type: ResourceType): Record<string, unknown>[] {
  const main = {
    name: type.plural,
    singularName: type.singular,
    namespaced: true,
    kind: type.kind,
    verbs: READ_WRITE,
    ...(type.shortNames.length > 0 ? { shortNames: type.shortNames } : {}),
    ...(type.kind === 'ConfigMap' ? {} : { categories: ['all'] }),
  };
  if (!type.hasStatus) return [main];
  return [
    main,
    {
      name: `${type.plural}/status`,
      singularName: '',
      namespaced: true,
      kind: type.kind,
      verbs: ['get', 'patch', 'update'],
    },
  ];
}

const NAMESPACES = {
  name: 'namespaces',
  singularName: 'namespace',
  namespaced: false,
  kind: 'Namespace',
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  shortNames: ['ns'],
};

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

const group = (name: string, version: string) => ({
  name,
  versions: [{ groupVersion: `${name}/${version}`, version }],
  preferredVersion: { groupVersion: `${name}/${version}`, version },
});

export function apiGroupList(): Record<string, unknown> {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [group('batch', 'v1')] };
}

export function apiGroup(name: string): Record<string, unknown> | undefined {
  return name === 'batch' ? { kind: 'APIGroup', apiVersion: 'v1', ...group('batch', 'v1') } : undefined;
}

/** The APIResourceList of one group version, or undefined when the fake does not serve it. */
export function apiResourceList(groupName: string, version: string): Record<string, unknown> | undefined {
  const types = Object.values(RESOURCES).filter((r) => r.group === groupName && r.version === version);
  if (types.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupName ? `${groupName}/${version}` : version,
    resources: [...(groupName === '' ? [NAMESPACES] : []), ...types.flatMap(apiResource)],
  };
}
