import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '@anton/testing';

type Json = Record<string, unknown>;

export const DEFAULT_TERMINATION_PATH = '/dev/termination-log';

/** The parts of a container spec the stand-in kubelet reads. */
export interface ContainerSpec {
  name: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
  restartPolicy?: string;
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
  startupProbe?: Probe;
  securityContext?: SecurityContext;
}

export interface Probe {
  exec?: { command: string[] };
  tcpSocket?: { port: number | string; host?: string };
  httpGet?: { port: number | string; host?: string; path?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
}

export interface PodSecurityContext extends SecurityContext {
  fsGroup?: number;
  supplementalGroups?: number[];
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

/** The mode and owner a kubelet gives an emptyDir: 0777, and with an fsGroup its group and setgid. */
const EMPTY_DIR_MODE = 0o777;
const SETGID = 0o2000;
/** A kubelet creates each container's termination-log file world-writable (kuberuntime_container.go). */
const TERMINATION_LOG_MODE = 0o666;

/**
 * A pod's volumes, which a node keeps under the pod's own directory, made here as a kubelet makes
 * them and kept at their host paths (a container sees them at those paths, not at its mountPaths;
 * env values naming a mount path are rewritten to the host's, see rewrite):
 * - an emptyDir is a directory of mode 0777, and with the pod's `fsGroup` owned by root with that
 *   group, mode 2777 (SetVolumeOwnership: group fsGroup, setgid, group rwx);
 * - a ConfigMap volume holds one file per key, root-owned (group fsGroup), mode defaultMode (0644);
 * - each container's termination-log file, mode 0666, in a directory of its own.
 */
export class PodHostMapping {
  readonly dir: string;
  readonly #volumes = new Map<string, string>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Prepares the volumes (the ConfigMaps must exist: `configMap` reads one). */
  static async prepare(
    pod: KubeObject,
    dir: string,
    configMap: (name: string) => Promise<Record<string, string>>,
  ): Promise<PodHostMapping> {
    const mapping = new PodHostMapping(dir);
    const spec = pod.spec as Json;
    const fsGroup = (spec.securityContext as Json | undefined)?.fsGroup as number | undefined;
    await mkdir(join(dir, 'volumes'), { mode: 0o755 });
    for (const volume of (spec.volumes as Json[] | undefined) ?? []) {
      const name = String(volume.name);
      const hostDir = join(dir, 'volumes', name);
      await mkdir(hostDir);
      if (volume.configMap) {
        const data = await configMap(String((volume.configMap as Json).name));
        const mode = ((volume.configMap as Json).defaultMode as number | undefined) ?? 0o644;
        for (const [key, value] of Object.entries(data)) {
          await writeFile(join(hostDir, key), value);
          await chmod(join(hostDir, key), mode);
          if (fsGroup !== undefined) await chown(join(hostDir, key), 0, fsGroup);
        }
        await chmod(hostDir, fsGroup === undefined ? 0o755 : 0o755 | SETGID);
      } else if (volume.emptyDir) {
        await chmod(hostDir, fsGroup === undefined ? EMPTY_DIR_MODE : EMPTY_DIR_MODE | SETGID);
      } else {
        throw new PodSpecError(`volume ${name}: only configMap and emptyDir volumes are supported`);
      }
      await chown(hostDir, 0, fsGroup ?? 0);
      mapping.#volumes.set(name, hostDir);
    }
    await mkdir(join(dir, 'containers'), { mode: 0o755 });
    for (const container of allContainers(pod)) {
      const own = join(dir, 'containers', container.name);
      await mkdir(own, { mode: 0o755 });
      await writeFile(join(own, 'termination-log'), '');
      await chmod(join(own, 'termination-log'), TERMINATION_LOG_MODE);
      const path = container.terminationMessagePath ?? DEFAULT_TERMINATION_PATH;
      if (!path.startsWith('/dev/')) {
        throw new PodSpecError(`container ${container.name}: terminationMessagePath outside /dev is not supported`);
      }
    }
    return mapping;
  }

  /** Every volume's host directory, by volume name. */
  get volumes(): ReadonlyMap<string, string> {
    return this.#volumes;
  }

  /** The host file a kubelet mounts at the container's terminationMessagePath. */
  terminationFile(container: ContainerSpec): string {
    return join(this.dir, 'containers', container.name, 'termination-log');
  }

  /** A container's mount paths → host paths. */
  mounts(container: ContainerSpec): Map<string, string> {
    const mounts = new Map<string, string>();
    for (const mount of container.volumeMounts ?? []) {
      const hostDir = this.#volumes.get(mount.name);
      if (!hostDir) throw new PodSpecError(`container ${container.name} mounts unknown volume ${mount.name}`);
      if (mount.subPath) throw new PodSpecError(`container ${container.name}: subPath is not supported`);
      mounts.set(mount.mountPath, hostDir);
    }
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

  /** `value` with a pod path replaced by the host's. */
  static rewrite(mounts: Map<string, string>, value: string): string {
    return value.startsWith('/') ? (PodHostMapping.hostPath(mounts, value) ?? value) : value;
  }
}

/** The environment a container starts with: the image's, then its own `env`, resolved as the kubelet does. */
export function resolveEnv(
  pod: KubeObject,
  container: ContainerSpec,
  { imageEnv, secrets, podIp }: { imageEnv: Record<string, string>; secrets: SecretStore; podIp: string },
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
    } else if (valueFrom?.fieldRef) env[variable.name] = fieldValue(pod, valueFrom.fieldRef.fieldPath, podIp);
    else env[variable.name] = '';
  }
  return env;
}

function fieldValue(pod: KubeObject, path: string, podIp: string): string {
  const { metadata } = pod;
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return (keyed[1] === 'labels' ? metadata.labels : metadata.annotations)?.[keyed[2] ?? ''] ?? '';
  const simple: Record<string, string | undefined> = {
    'metadata.name': metadata.name,
    'metadata.namespace': metadata.namespace,
    'metadata.uid': metadata.uid,
    'spec.nodeName': String((pod.spec as Json).nodeName ?? ''),
    'spec.serviceAccountName': String((pod.spec as Json).serviceAccountName ?? ''),
    'status.podIP': podIp,
  };
  if (!(path in simple)) throw new PodSpecError(`fieldRef ${path} is not supported`);
  return simple[path] ?? '';
}

/** Where the images (and this host: Debian's `tini` package) have tini. */
const TINI = '/usr/bin/tini';

/**
 * THE ONE LIBERTY TAKEN with what runs: the runner image runs `node dist/<x>.js` from its WORKDIR
 * (/app, the built runner package); here the same entry point runs from the runner's sources,
 * `node --conditions=source runner/src/<x>.ts`, so the suite needs no build and no image. A
 * `tini --` in front is run as written (tini is PID 1 of the container then).
 * Returns the init before node (if any), the script for `node --conditions=source`, and the rest.
 */
export function hostEntry(
  command: string[] | undefined,
  args: string[] | undefined,
  runnerDir: string,
): { init: string[]; script: string; args: string[] } {
  const all = [...(command ?? []), ...(args ?? [])];
  const init = all[0] === 'tini' && all[1] === '--' ? [TINI, '--'] : [];
  const [bin, script, ...rest] = all.slice(init.length);
  const built = /^dist\/(.+)\.js$/.exec(script ?? '');
  if (bin !== 'node' || !built?.[1]) {
    throw new PodSpecError(`command ${JSON.stringify(all)} is not [tini --] node dist/<x>.js`);
  }
  return { init, script: join(runnerDir, 'src', `${built[1]}.ts`), args: rest };
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
