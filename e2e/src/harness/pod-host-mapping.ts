import { mkdir, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '@anton/testing';
import { freePort } from '@anton/testing';

type Json = Record<string, unknown>;

/** The parts of a container spec the stand-in kubelet reads. */
export interface ContainerSpec {
  name: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string }>;
  restartPolicy?: string;
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
  startupProbe?: { tcpSocket?: { port: number | string } };
  ports?: Array<{ containerPort: number }>;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

/** Secrets by name, each key → value (what `kubectl create secret generic` holds, decoded). */
export type SecretStore = Record<string, Record<string, string>>;

export class PodSpecError extends Error {
  override name = 'PodSpecError';
}

/**
 * A pod's own resources, which a node gives each pod separately, mapped onto this one host:
 * - its volumes become temp dirs (a ConfigMap volume holds one file per key, as the kubelet
 *   projects it), and each container's mount paths and terminationMessagePath point into them;
 * - its loopback ports (those its probes and `ports` name) become free host ports, because every
 *   pod here shares the host's network where a real pod has its own.
 * Env values that name one of those paths or ports are rewritten to the host's.
 */
export class PodHostMapping {
  readonly dir: string;
  /** Pod port → host port. */
  readonly ports = new Map<number, number>();
  readonly #volumes = new Map<string, string>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Prepares the volumes (the ConfigMaps must exist: `configMap` reads one) and picks the ports. */
  static async prepare(
    pod: KubeObject,
    dir: string,
    configMap: (name: string) => Promise<Record<string, string>>,
  ): Promise<PodHostMapping> {
    const mapping = new PodHostMapping(dir);
    const spec = pod.spec as Json;
    for (const volume of (spec.volumes as Json[] | undefined) ?? []) {
      const name = String(volume.name);
      const hostDir = join(dir, 'volumes', name);
      await mkdir(hostDir, { recursive: true });
      if (volume.configMap) {
        const data = await configMap(String((volume.configMap as Json).name));
        for (const [key, value] of Object.entries(data)) await writeFile(join(hostDir, key), value);
      } else if (!volume.emptyDir) {
        throw new PodSpecError(`volume ${name}: only configMap and emptyDir volumes are supported`);
      }
      mapping.#volumes.set(name, hostDir);
    }
    for (const container of allContainers(pod)) {
      const named = [container.startupProbe?.tcpSocket?.port, ...(container.ports ?? []).map((p) => p.containerPort)];
      for (const port of named) {
        if (typeof port === 'number' && !mapping.ports.has(port)) mapping.ports.set(port, await freePort());
      }
    }
    return mapping;
  }

  /** A container's mount paths (and its termination message file) → host paths. */
  async mounts(container: ContainerSpec): Promise<Map<string, string>> {
    const mounts = new Map<string, string>();
    for (const mount of container.volumeMounts ?? []) {
      const hostDir = this.#volumes.get(mount.name);
      if (!hostDir) throw new PodSpecError(`container ${container.name} mounts unknown volume ${mount.name}`);
      mounts.set(mount.mountPath, mount.subPath ? join(hostDir, mount.subPath) : hostDir);
    }
    const terminationFile = join(this.dir, `${container.name}.termination-log`);
    await writeFile(terminationFile, '');
    mounts.set(container.terminationMessagePath ?? '/dev/termination-log', terminationFile);
    return mounts;
  }

  /** The host path a container path lands on (the longest mount that holds it), or undefined. */
  static hostPath(mounts: Map<string, string>, path: string): string | undefined {
    let best: [string, string] | undefined;
    for (const [mountPath, hostDir] of mounts) {
      const inside = path === mountPath || path.startsWith(`${mountPath.replace(/\/+$/, '')}/`);
      if (inside && (!best || mountPath.length > best[0].length)) best = [mountPath, hostDir];
    }
    return best && best[1] + path.slice(best[0].length);
  }

  /** `value` with a pod path or a pod loopback port replaced by the host's. */
  rewrite(mounts: Map<string, string>, value: string): string {
    if (value.startsWith('/')) return PodHostMapping.hostPath(mounts, value) ?? value;
    if (/^\d+$/.test(value)) return String(this.ports.get(Number(value)) ?? value);
    return value.replace(/^(https?:\/\/(?:127\.0\.0\.1|localhost)):(\d+)(?=\/|$)/, (whole, origin: string, port) => {
      const host = this.ports.get(Number(port));
      return host === undefined ? whole : `${origin}:${host}`;
    });
  }
}

/** The environment a container starts with: the image's, then its own `env`, resolved as the kubelet does. */
export function resolveEnv(
  pod: KubeObject,
  container: ContainerSpec,
  { imageEnv, secrets }: { imageEnv: Record<string, string>; secrets: SecretStore },
): Record<string, string> {
  const env: Record<string, string> = { ...imageEnv, HOSTNAME: pod.metadata.name ?? '' };
  for (const variable of container.env ?? []) {
    const { value, valueFrom } = variable;
    if (value !== undefined) env[variable.name] = value;
    else if (valueFrom?.secretKeyRef) {
      const { name, key, optional } = valueFrom.secretKeyRef;
      const found = secrets[name]?.[key];
      if (found !== undefined) env[variable.name] = found;
      else if (!optional) throw new PodSpecError(`container ${container.name}: secret ${name} has no key ${key}`);
    } else if (valueFrom?.fieldRef) env[variable.name] = fieldValue(pod, valueFrom.fieldRef.fieldPath);
    else env[variable.name] = '';
  }
  return env;
}

function fieldValue(pod: KubeObject, path: string): string {
  const { metadata } = pod;
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return (keyed[1] === 'labels' ? metadata.labels : metadata.annotations)?.[keyed[2] ?? ''] ?? '';
  const simple: Record<string, string | undefined> = {
    'metadata.name': metadata.name,
    'metadata.namespace': metadata.namespace,
    'metadata.uid': metadata.uid,
    'spec.nodeName': String((pod.spec as Json).nodeName ?? ''),
    'spec.serviceAccountName': String((pod.spec as Json).serviceAccountName ?? ''),
    'status.podIP': '127.0.0.1',
    'status.hostIP': '127.0.0.1',
  };
  if (!(path in simple)) throw new PodSpecError(`fieldRef ${path} is not supported`);
  return simple[path] ?? '';
}

/**
 * THE ONE LIBERTY TAKEN with what runs: the runner image runs `node dist/<x>.js` from its WORKDIR
 * (/app, the built runner package); here the same entry point runs from the runner's sources,
 * `node --conditions=source runner/src/<x>.ts`, so the suite needs no build and no image.
 * Returns the script for `node --conditions=source` and the container's remaining arguments.
 */
export function hostEntry(container: ContainerSpec, runnerDir: string): { script: string; args: string[] } {
  const [bin, script, ...rest] = container.command ?? [];
  const built = /^dist\/(.+)\.js$/.exec(script ?? '');
  if (bin !== 'node' || !built?.[1]) {
    throw new PodSpecError(
      `container ${container.name}: command ${JSON.stringify(container.command)} is not node dist/<x>.js`,
    );
  }
  return { script: join(runnerDir, 'src', `${built[1]}.ts`), args: [...rest, ...(container.args ?? [])] };
}

export function allContainers(pod: KubeObject): ContainerSpec[] {
  const spec = pod.spec as { initContainers?: ContainerSpec[]; containers?: ContainerSpec[] };
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

/** The exit code Kubernetes reports: the process's, or 128 + the signal that ended it. */
export function exitCodeOf(exit: { code: number | null; signal: NodeJS.Signals | null }): number {
  if (exit.code !== null) return exit.code;
  return 128 + (exit.signal ? (constants.signals[exit.signal] ?? 0) : 0);
}
