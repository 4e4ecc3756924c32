import { PodSpecError } from './pod-host-mapping.ts';

type Json = Record<string, unknown>;

/**
 * What the stand-in kubelet does with each field of a pod spec: `run` (it runs the pod the way the
 * field says), `unhonoured` (it cannot, and says so: the field's path is reported), a nested
 * table, or a check that refuses a value it cannot run. A field in no table fails the pod: nothing
 * in a spec is ignored silently.
 */
type Rule = 'run' | 'unhonoured' | Table | ((value: unknown, path: string) => void);
interface Table {
  [field: string]: Rule;
}

const only =
  (...allowed: unknown[]) =>
  (value: unknown, path: string) => {
    if (!allowed.includes(value)) throw new PodSpecError(`${path}: ${JSON.stringify(value)} is not supported`);
  };

const CONTAINER_SECURITY: Table = {
  runAsUser: 'run',
  runAsGroup: 'run',
  runAsNonRoot: 'run',
  allowPrivilegeEscalation: 'run',
  readOnlyRootFilesystem: 'run',
  privileged: only(false),
  // Only `drop: [ALL]` plus `add` is run: the runtime's default set is not modelled.
  capabilities: { drop: (value, path) => only('ALL')((value as unknown[]).join(), path), add: 'run' },
  seccompProfile: 'unhonoured',
};

const PROBE: Table = {
  exec: { command: 'run' },
  tcpSocket: { port: 'run', host: 'run' },
  httpGet: { port: 'run', host: 'run', path: 'run', scheme: only('HTTP') },
  initialDelaySeconds: 'run',
  periodSeconds: 'run',
  timeoutSeconds: 'run',
  failureThreshold: 'run',
  successThreshold: only(1),
};

const CONTAINER: Table = {
  name: 'run',
  // THE ONE LIBERTY (hostEntry): the host's node runs the runner's sources instead of the image.
  image: 'unhonoured',
  imagePullPolicy: 'unhonoured',
  command: 'run',
  args: 'run',
  env: 'run',
  restartPolicy: only('Always'),
  startupProbe: PROBE,
  volumeMounts: 'run',
  terminationMessagePath: 'run',
  terminationMessagePolicy: 'run',
  // No cgroups here: neither requests nor limits bind.
  resources: 'unhonoured',
  securityContext: CONTAINER_SECURITY,
};

const VOLUME: Table = {
  name: 'run',
  configMap: { name: 'run', defaultMode: 'run' },
  // The directory is made as the kubelet makes it; its size is not limited.
  emptyDir: { sizeLimit: 'unhonoured', medium: 'unhonoured' },
};

const POD: Table = {
  restartPolicy: only('Never'),
  // No token and no service variables are ever given, so only `false` is run as written.
  automountServiceAccountToken: only(false),
  enableServiceLinks: only(false),
  terminationGracePeriodSeconds: 'run',
  // The pod's resolv.conf is the host's: no cluster DNS here.
  dnsPolicy: 'unhonoured',
  securityContext: {
    runAsUser: 'run',
    runAsGroup: 'run',
    runAsNonRoot: 'run',
    fsGroup: 'run',
    supplementalGroups: 'run',
    seccompProfile: 'unhonoured',
  },
  initContainers: CONTAINER,
  containers: CONTAINER,
  volumes: VOLUME,
  // The scheduler's and the API server's fields: a kubelet has nothing to do with them on its node.
  nodeName: 'run',
  schedulerName: 'run',
  serviceAccountName: 'run',
  serviceAccount: 'run',
  priority: 'run',
  preemptionPolicy: 'run',
  tolerations: 'run',
};

/** The fields of a pod spec the stand-in cannot honour (sorted); throws on a field or value it cannot run. */
export function unhonouredFields(spec: Json): string[] {
  const found: string[] = [];
  walk(spec, POD, 'spec', found);
  return found.sort();
}

function walk(value: unknown, rule: Rule, path: string, found: string[]): void {
  if (rule === 'run') return;
  if (rule === 'unhonoured') {
    found.push(path);
    return;
  }
  if (typeof rule === 'function') {
    rule(value, path);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) walk(item, rule, `${path}[${String((item as Json).name ?? '?')}]`, found);
    return;
  }
  if (typeof value !== 'object' || value === null) throw new PodSpecError(`${path}: expected an object`);
  for (const [field, child] of Object.entries(value)) {
    const childRule = rule[field];
    if (!childRule) throw new PodSpecError(`${path}.${field}: the stand-in kubelet does not know this field`);
    walk(child, childRule, `${path}.${field}`, found);
  }
}
