import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LABELS, RUNNER_APP, SECRET_KEYS, SECRET_NAME } from '@anton/contracts';
import { parseRoutingConfig } from '@anton/orchestrator/routing-config';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

// kubectl cannot be used here; these checks are what `kubectl apply -k deploy/k8s` relies on.
const root = resolve(import.meta.dirname, '../../..');
const k8s = join(root, 'deploy', 'k8s');

// biome-ignore lint/suspicious/noExplicitAny: manifests are checked by schema below, then read freely.
type Manifest = any;

function load(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(k8s, file), 'utf8')).map((doc) => {
    expect(doc.errors, file).toEqual([]);
    return doc.toJS();
  });
}

const kustomization = load('kustomization.yaml')[0] as { namespace: string; resources: string[] };
const manifests = kustomization.resources.flatMap(load);
const secretExample = load('secret.example.yaml')[0];
const byKind = (kind: string) => manifests.filter((m) => m.kind === kind);
const named = (kind: string, name: string) => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  expect(found, `${kind}/${name}`).toBeDefined();
  return found;
};
const deployment = (name: string) => named('Deployment', name);

/** kubernetes-models' module path for an apiVersion/kind (core group: v1/<Kind>). */
async function modelFor(apiVersion: string, kind: string) {
  const module = await import(/* @vite-ignore */ `kubernetes-models/${apiVersion}/${kind}`);
  return module[kind] as new (
    data: unknown,
  ) => { validate(): void };
}

describe('deploy/k8s', () => {
  it('lists every manifest in its kustomization (the example secret deliberately not)', () => {
    const files = readdirSync(k8s).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect(kustomization.namespace).toBe('agents');
    expect(new Set(kustomization.resources)).toEqual(new Set(files.filter((f) => f !== 'secret.example.yaml')));
  });

  it.each(manifests.map((m) => [`${m.kind}/${m.metadata?.name}`, m] as const))(
    '%s is valid against the Kubernetes schema',
    async (_name, manifest) => {
      const Model = await modelFor(manifest.apiVersion, manifest.kind);
      expect(() => new Model(manifest).validate()).not.toThrow();
    },
  );

  it('refers only to secret keys the example secret defines', () => {
    const keys = new Set(Object.keys(secretExample.stringData));
    for (const key of Object.values(SECRET_KEYS)) expect(keys).toContain(key);
    const refs = JSON.stringify(manifests).matchAll(/"secretKeyRef":\{"name":"([^"]+)","key":"([^"]+)"/g);
    let count = 0;
    for (const [, name, key] of refs) {
      expect(name).toBe(SECRET_NAME);
      expect(keys, key).toContain(key);
      count += 1;
    }
    expect(count).toBeGreaterThan(3);
  });

  it('runs the ingester with two replicas, probes on /healthz and /readyz, and resources', () => {
    const ingester = deployment('anton-ingester');
    const container = ingester.spec.template.spec.containers[0];
    expect(ingester.spec.replicas).toBe(2);
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.resources.limits).toBeDefined();
    const service = named('Service', 'anton-ingester');
    expect(service.spec.selector).toEqual(ingester.spec.selector.matchLabels);
    expect(container.ports.map((p: { name: string }) => p.name)).toContain(service.spec.ports[0].targetPort);
  });

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
    const env = Object.fromEntries(
      spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]),
    );
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
      for (const { name } of deployment(`anton-${service}`).spec.template.spec.containers[0].env) {
        expect(source, `${service} does not read ${name}`).toMatch(new RegExp(`\\b${name}\\b`));
      }
    },
  );

  it('confines runner pods with a NetworkPolicy on the labels the orchestrator puts on them', () => {
    const [policy] = byKind('NetworkPolicy');
    expect(policy.spec.podSelector.matchLabels).toEqual({ [LABELS.app]: RUNNER_APP });
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toEqual([]);
    const ports = policy.spec.egress.flatMap((rule: { ports: { port: number }[] }) => rule.ports.map((p) => p.port));
    expect(new Set(ports)).toEqual(new Set([53, 443]));
  });

  it('hardens every pod: non-root, no privilege escalation, all capabilities dropped', () => {
    for (const workload of [...byKind('Deployment'), ...byKind('StatefulSet')]) {
      const pod = workload.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot, workload.metadata.name).toBe(true);
      for (const container of pod.containers) {
        expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
        expect(container.securityContext.capabilities.drop).toEqual(['ALL']);
      }
    }
  });

  it('has an external-broker overlay that removes exactly the in-cluster RabbitMQ', () => {
    const overlay = parseAllDocuments(
      readFileSync(join(k8s, 'overlays', 'external-broker', 'kustomization.yaml'), 'utf8'),
    )[0]?.toJS();
    expect(overlay.resources).toEqual(['../..']);
    const deleted = overlay.patches.map((p: { patch: string }) => parseAllDocuments(p.patch)[0]?.toJS());
    for (const patch of deleted) {
      expect(patch.$patch).toBe('delete');
      named(patch.kind, patch.metadata.name);
    }
    expect(deleted.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['rabbitmq', 'rabbitmq']);
  });
});
