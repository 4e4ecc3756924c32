/** A Kubernetes object as the fake stores it: plain JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [field: string]: unknown;
}

export type KindName = 'ConfigMap' | 'Job' | 'Pod';

/** What the API server knows about one resource type: its URL, its kind, its verbs. */
export interface ResourceType {
  kind: KindName;
  /** The plural used in URLs and in Status `details.kind`. */
  plural: string;
  singular: string;
  /** '' for the core group. */
  group: string;
  version: string;
  apiVersion: string;
  listKind: string;
  shortNames: string[];
  /** Jobs and pods carry `metadata.generation`/status; ConfigMaps have neither. */
  hasStatus: boolean;
  /** Fields a `fieldSelector` may name, besides metadata.name and metadata.namespace. */
  selectableFields: Record<string, (obj: KubeObject) => string>;
}

const status = (obj: KubeObject): Record<string, unknown> => (obj.status ?? {}) as Record<string, unknown>;
const spec = (obj: KubeObject): Record<string, unknown> => (obj.spec ?? {}) as Record<string, unknown>;
const str = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

export const RESOURCES: Record<KindName, ResourceType> = {
  ConfigMap: {
    kind: 'ConfigMap',
    plural: 'configmaps',
    singular: 'configmap',
    group: '',
    version: 'v1',
    apiVersion: 'v1',
    listKind: 'ConfigMapList',
    shortNames: ['cm'],
    hasStatus: false,
    selectableFields: {},
  },
  Pod: {
    kind: 'Pod',
    plural: 'pods',
    singular: 'pod',
    group: '',
    version: 'v1',
    apiVersion: 'v1',
    listKind: 'PodList',
    shortNames: ['po'],
    hasStatus: true,
    // The pod field selectors the real server supports (pkg/registry/core/pod/strategy.go).
    selectableFields: {
      'spec.nodeName': (o) => str(spec(o).nodeName),
      'spec.restartPolicy': (o) => str(spec(o).restartPolicy),
      'spec.schedulerName': (o) => str(spec(o).schedulerName),
      'spec.serviceAccountName': (o) => str(spec(o).serviceAccountName),
      'spec.hostNetwork': (o) => String(spec(o).hostNetwork === true),
      'status.phase': (o) => str(status(o).phase),
      'status.podIP': (o) => str(status(o).podIP),
      'status.nominatedNodeName': (o) => str(status(o).nominatedNodeName),
    },
  },
  Job: {
    kind: 'Job',
    plural: 'jobs',
    singular: 'job',
    group: 'batch',
    version: 'v1',
    apiVersion: 'batch/v1',
    listKind: 'JobList',
    shortNames: [],
    hasStatus: true,
    selectableFields: { 'status.successful': (o) => String(status(o).succeeded ?? 0) },
  },
};

/** `configmaps`, `jobs.batch`: how the server names a resource in its messages. */
export function qualifiedResource(type: ResourceType): string {
  return type.group ? `${type.plural}.${type.group}` : type.plural;
}

/** `ConfigMap`, `Job.batch`: how the server names a kind in validation messages. */
export function qualifiedKind(type: ResourceType): string {
  return type.group ? `${type.kind}.${type.group}` : type.kind;
}

export function resourceByPlural(group: string, version: string, plural: string): ResourceType | undefined {
  return Object.values(RESOURCES).find((r) => r.group === group && r.version === version && r.plural === plural);
}
