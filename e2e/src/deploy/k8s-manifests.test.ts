import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LABELS, RUNNER_APP, SECRET_KEYS, SECRET_NAME } from '@anton/contracts';
import { loadConfig as loadIngesterConfig } from '@anton/ingester/config';
import { loadConfig as loadOrchestratorConfig } from '@anton/orchestrator/config';
import { parseRoutingConfig } from '@anton/orchestrator/routing-config';
import { dropUnknownFields, modelName } from '@anton/testing';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { idOf, kustomizations, type Manifest, render } from './kustomize.ts';

const root = resolve(import.meta.dirname, '../../..');
const k8s = join(root, 'deploy', 'k8s');
const base = join(k8s, 'base');

const manifests = render(base);
const secretExample = parseAllDocuments(readFileSync(join(base, 'secret.example.yaml'), 'utf8'))[0]?.toJS();
const byKind = (kind: string) => manifests.filter((m) => m.kind === kind);
const named = (kind: string, name: string, from: Manifest[] = manifests) => {
  const found = from.find((m) => m.kind === kind && m.metadata.name === name);
  expect(found, `${kind}/${name}`).toBeDefined();
  return found;
};
const deployment = (name: string) => named('Deployment', name);
const container = (name: string) => deployment(name).spec.template.spec.containers[0];

/** kubernetes-models' module path for an apiVersion/kind (core group: v1/<Kind>). */
async function modelFor(apiVersion: string, kind: string) {
  const module = await import(/* @vite-ignore */ `kubernetes-models/${apiVersion}/${kind}`);
  return module[kind] as new (
    data: unknown,
  ) => { validate(): void };
}

/**
 * A container's environment as the kubelet builds it from the secret: values, fieldRefs (the
 * namespace), secretKeyRefs (a missing optional key leaves the variable unset, a missing required
 * key would keep the pod from starting: the test fails).
 */
function environment(c: Manifest, secret: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of c.env) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) {
      const value = secret[ref.key];
      if (value === undefined) expect(ref.optional, `${variable.name}: secret key ${ref.key} is missing`).toBe(true);
      else env[variable.name] = value;
    } else if (variable.valueFrom?.fieldRef) env[variable.name] = 'agents';
    else env[variable.name] = variable.value;
  }
  return env;
}

/** Read by Node itself, not by a service's configuration (the heap settings the bench measured). */
const NODE_RUNTIME_VARIABLES = new Set(['NODE_OPTIONS']);
describe('deploy/k8s: every kustomization renders with kubectl kustomize', () => {
  const dirs = kustomizations(k8s);

  it('finds the base, the external-broker overlay and the monitoring kustomization', () => {
    expect(dirs.sort()).toEqual(['base', 'monitoring', 'overlays/external-broker']);
  });

  it.each(dirs)('%s renders, and every built-in object is valid with no field its kind lacks', async (dir) => {
    const objects = render(join(k8s, dir));
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) {
      const model = modelName(object.apiVersion, object.kind);
      if (object.apiVersion === 'monitoring.coreos.com/v1') continue; // CRDs: checked below
      expect(model, `${idOf(object)}: no schema`).toBeDefined();
      const Model = await modelFor(object.apiVersion, object.kind);
      expect(() => new Model(object).validate(), idOf(object)).not.toThrow();
      // What a Strict apply would refuse (a misspelled field passes the schema library).
      expect(dropUnknownFields(structuredClone(object), model as string), idOf(object)).toEqual([]);
    }
  });

  it('catches a misspelled field, as kubectl apply --validate=strict would', () => {
    const ingester = structuredClone(deployment('anton-ingester'));
    ingester.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    expect(dropUnknownFields(ingester, 'V1Deployment')).toEqual(['spec.template.spec.containers[0].imagePullPolicyy']);
  });
});

describe('deploy/k8s/base', () => {
  it('lists every manifest of its directory (the example secret deliberately not)', () => {
    const kustomization = parseAllDocuments(readFileSync(join(base, 'kustomization.yaml'), 'utf8'))[0]?.toJS();
    const files = readdirSync(base).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect(kustomization.namespace).toBe('agents');
    expect(new Set(kustomization.resources)).toEqual(new Set(files.filter((f) => f !== 'secret.example.yaml')));
    for (const m of manifests) if (m.kind !== 'Namespace') expect(m.metadata.namespace, idOf(m)).toBe('agents');
  });

  it('refers only to secret keys the example secret defines, and leaves only optional ones empty', () => {
    const keys = secretExample.stringData as Record<string, string>;
    for (const key of Object.values(SECRET_KEYS)) expect(Object.keys(keys)).toContain(key);
    let count = 0;
    for (const workload of [...byKind('Deployment'), ...byKind('StatefulSet')]) {
      for (const c of workload.spec.template.spec.containers) {
        for (const variable of c.env ?? []) {
          const ref = variable.valueFrom?.secretKeyRef;
          if (!ref) continue;
          count += 1;
          expect(ref.name).toBe(SECRET_NAME);
          expect(Object.keys(keys), ref.key).toContain(ref.key);
          // An empty value in the example is a setting one may leave out: the pod must start without it.
          if (keys[ref.key] === '') expect(ref.optional, `${ref.key} is empty in the example`).toBe(true);
        }
      }
    }
    expect(count).toBeGreaterThan(3);
  });

  it('starts the orchestrator when only the JIRA token is filled in: JIRA reporting off, with the reason', () => {
    const secret = { ...secretExample.stringData, 'jira-api-token': 'atl-token' };
    const config = loadOrchestratorConfig(environment(container('anton-orchestrator'), secret));
    expect(config.reporters.jira).toBeUndefined();
    expect(config.reporters.incomplete).toEqual(['JIRA reporting is off: JIRA_BASE_URL and JIRA_EMAIL are not set']);
    const filled = {
      ...secret,
      'jira-base-url': 'https://acme.atlassian.net',
      'jira-email': 'anton@acme.test',
    };
    expect(loadOrchestratorConfig(environment(container('anton-orchestrator'), filled)).reporters.jira).toMatchObject({
      baseUrl: 'https://acme.atlassian.net',
      apiToken: 'atl-token',
    });
    expect(
      loadOrchestratorConfig(environment(container('anton-orchestrator'), secretExample.stringData)).reporters,
    ).toEqual({ jira: undefined, datadog: undefined, incomplete: [] });
  });

  it('gives each webhook source its own secret, and the ingester starts from them alone', () => {
    const secret = {
      ...secretExample.stringData,
      'jira-webhook-secret': 'j',
      'datadog-webhook-secret': 'd',
      'sonar-webhook-secret': 's',
    };
    const env = environment(container('anton-ingester'), secret);
    expect(env.WEBHOOK_SECRET).toBeUndefined();
    const config = loadIngesterConfig(env);
    expect(config.secrets).toEqual({ jira: 'j', datadog: 'd', sonarcloud: 's' });
    expect(config.devSecret).toBe(false);
  });

  it('runs the ingester with two replicas, probes on /healthz and /readyz, and resources', () => {
    const ingester = deployment('anton-ingester');
    const c = container('anton-ingester');
    expect(ingester.spec.replicas).toBe(2);
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.resources.limits).toBeDefined();
  });

  it.each([
    ['anton-ingester', 'anton-ingester'],
    ['anton-orchestrator', undefined],
  ])(
    '%s: /metrics on METRICS_PORT, the port named metrics that Prometheus scrapes, not exposed by a Service',
    (name, serviceName) => {
      const pod = deployment(name).spec.template;
      const c = pod.spec.containers[0];
      const env = environment(c, secretExample.stringData);
      const metricsPort = c.ports.find((p: { name: string }) => p.name === 'metrics');
      expect(Number(env.METRICS_PORT)).toBe(metricsPort.containerPort);
      expect(pod.metadata.annotations['prometheus.io/port']).toBe(String(metricsPort.containerPort));
      for (const service of byKind('Service').filter((s) => s.spec.selector['app.kubernetes.io/name'] === name)) {
        for (const port of service.spec.ports) {
          expect([metricsPort.name, metricsPort.containerPort], idOf(service)).not.toContain(port.targetPort);
        }
      }
      if (serviceName) {
        const service = named('Service', serviceName);
        expect(service.spec.selector).toEqual(deployment(name).spec.selector.matchLabels);
        expect(service.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(['http']);
        expect(c.ports.find((p: { name: string }) => p.name === 'http').containerPort).toBe(Number(env.PORT));
      }
    },
  );

  it('binds the orchestrator to a least-privilege Role through its ServiceAccount', () => {
    const orchestrator = deployment('anton-orchestrator');
    const account = orchestrator.spec.template.spec.serviceAccountName;
    named('ServiceAccount', account);
    const binding = byKind('RoleBinding').find((b) => b.subjects.some((s: { name: string }) => s.name === account));
    expect(binding.roleRef.kind).toBe('Role');
    const role = named('Role', binding.roleRef.name);
    const grants = Object.fromEntries(
      role.rules.flatMap((rule: { resources: string[]; verbs: string[] }) =>
        rule.resources.map((resource) => [resource, [...rule.verbs].sort()]),
      ),
    );
    expect(grants).toEqual({
      jobs: ['create', 'get', 'list', 'patch', 'watch'],
      configmaps: ['create', 'delete', 'get', 'list'],
      pods: ['list'],
    });
    expect(byKind('ClusterRole')).toEqual([]);
  });

  it('mounts the routing ConfigMap where ROUTING_CONFIG points, and its map is valid', () => {
    const spec = deployment('anton-orchestrator').spec.template.spec;
    const env = environment(spec.containers[0], secretExample.stringData);
    const mount = spec.containers[0].volumeMounts.find((m: { mountPath: string }) =>
      String(env.ROUTING_CONFIG).startsWith(`${m.mountPath}/`),
    );
    const volume = spec.volumes.find((v: { name: string }) => v.name === mount.name);
    const configMap = named('ConfigMap', volume.configMap.name);
    const key = String(env.ROUTING_CONFIG).slice(mount.mountPath.length + 1);
    expect(parseRoutingConfig(configMap.data[key]).repositories.length).toBeGreaterThan(0);
  });

  it.each(['ingester', 'orchestrator'])(
    'gives the %s only environment variables its configuration reads',
    (service) => {
      const source = readFileSync(join(root, service, 'src', 'config.ts'), 'utf8');
      for (const { name } of container(`anton-${service}`).env) {
        if (NODE_RUNTIME_VARIABLES.has(name)) continue;
        expect(source, `${service} does not read ${name}`).toMatch(new RegExp(`\\b${name}\\b`));
      }
    },
  );

  it('governs the RabbitMQ StatefulSet with a headless Service selecting its pods', () => {
    const statefulSet = named('StatefulSet', 'rabbitmq');
    const governing = named('Service', statefulSet.spec.serviceName);
    expect(governing.spec.clusterIP).toBe('None');
    expect(governing.spec.selector).toEqual(statefulSet.spec.selector.matchLabels);
    // Clients keep a stable ClusterIP name (the secret's rabbitmq-url points at it).
    expect(named('Service', 'rabbitmq').spec.clusterIP).toBeUndefined();
    expect(secretExample.stringData['rabbitmq-url']).toMatch(/@rabbitmq:5672$/);
  });

  it('confines runner pods: DNS to the cluster DNS pods only, HTTPS only outside the cluster ranges', () => {
    const [policy] = byKind('NetworkPolicy');
    expect(policy.spec.podSelector.matchLabels).toEqual({ [LABELS.app]: RUNNER_APP });
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toEqual([]);
    // A rule without `to` allows every destination: none may be missing it.
    for (const rule of policy.spec.egress) expect(rule.to?.length, JSON.stringify(rule)).toBeGreaterThan(0);
    const [dns, https] = policy.spec.egress;
    expect(dns.ports).toEqual([
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]);
    expect(dns.to).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
        podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
      },
    ]);
    expect(https.ports).toEqual([{ protocol: 'TCP', port: 443 }]);
    expect(https.to).toHaveLength(1);
    expect(https.to[0].ipBlock.cidr).toBe('0.0.0.0/0');
    // The ranges pod and Service CIDRs are taken from, and the cloud metadata address.
    expect(https.to[0].ipBlock.except).toEqual(
      expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']),
    );
    expect(policy.spec.egress).toHaveLength(2);
  });

  it('hardens every pod: non-root, no privilege escalation, all capabilities dropped', () => {
    for (const workload of [...byKind('Deployment'), ...byKind('StatefulSet')]) {
      const pod = workload.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot, workload.metadata.name).toBe(true);
      for (const c of pod.containers) {
        expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
        expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
      }
    }
  });
});

describe('deploy/k8s/overlays/external-broker', () => {
  it('renders the base without exactly the in-cluster RabbitMQ (its StatefulSet and both Services)', () => {
    const overlay = render(join(k8s, 'overlays', 'external-broker')).map(idOf);
    const removed = manifests.map(idOf).filter((id) => !overlay.includes(id));
    expect(removed.sort()).toEqual(['Service/rabbitmq', 'Service/rabbitmq-headless', 'StatefulSet/rabbitmq']);
    expect(overlay.filter((id) => !manifests.map(idOf).includes(id))).toEqual([]);
  });
});
