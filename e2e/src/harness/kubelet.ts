import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS, RUNNER_APP } from '@anton/contracts';
import { type FakeKubernetes, type KubeObject, REPO_ROOT, ServiceProcess } from '@anton/testing';
import { type ContainerIdentity, containerArgv, containerInitPid, execArgv } from './container-sandbox.ts';
import { unhonouredFields } from './pod-fields.ts';
import {
  allContainers,
  type ContainerSpec,
  DEFAULT_TERMINATION_PATH,
  exitCodeOf,
  hostEntry,
  PodHostMapping,
  type PodSecurityContext,
  PodSpecError,
  resolveEnv,
  type SecretStore,
} from './pod-host-mapping.ts';
import { PodNetwork } from './pod-network.ts';
import { type ProbeAttempt, runStartupProbe } from './probes.ts';

/** Kubernetes keeps this much of a termination message (and of the log tail it falls back to). */
const TERMINATION_MESSAGE_BYTES = 4096;
const FALLBACK_LOG_LINES = 80;
/** A pod's terminationGracePeriodSeconds when it sets none. */
const DEFAULT_GRACE_SECONDS = 30;

export interface KubeletOptions {
  kubernetes: FakeKubernetes;
  namespace: string;
  /** The Secrets the pods' `secretKeyRef`s read (e.g. `anton-secrets`). */
  secrets: SecretStore;
  /** The runner package, standing for the image's WORKDIR (/app). */
  runnerDir?: string;
  /** The image's own environment (its Dockerfile ENV); paths in it are mapped like the rest. */
  imageEnv?: Record<string, string>;
  /** The image's USER (the Dockerfiles say 10001:10001). */
  imageUser?: { uid: number; gid: number };
  /**
   * The services outside the pods that pods reach (the fakes), by their port on this host's
   * 127.0.0.1: they stand for the internet (see PodNetwork).
   */
  hostPorts?: number[];
  /** How long a pod may wait for its ConfigMap. */
  startTimeoutMs?: number;
}

/** One container as it ran: the command, the environment and identity it got, and its process. */
export interface ContainerRun {
  name: string;
  /** The command the pod spec gives. */
  command: string[];
  script: string;
  env: Record<string, string>;
  /** Container path → host path. */
  mounts: Map<string, string>;
  identity: ContainerIdentity;
  /** The `unshare` that holds the container's namespaces; its child is the container's PID 1. */
  process: ServiceProcess;
}

/** One pod of a runner Job, run on this host. */
export interface PodRun {
  pod: string;
  job: string;
  taskId: string | undefined;
  mapping?: PodHostMapping;
  /** The pod's own network: its IP, and the node side of its veth. */
  network?: { podIp: string; hostIp: string };
  /** The pod spec's fields the stand-in could not honour (see pod-fields.ts). */
  unhonoured: string[];
  /** Every probe the kubelet sent, in order. */
  probes: ProbeAttempt[];
  sidecars: ContainerRun[];
  agent?: ContainerRun;
  /** What the kubelet reported for the agent container. */
  exitCode?: number;
  terminationMessage?: string;
  /** Why the pod could not run, when it could not. */
  error?: string;
  done: Promise<void>;
}

/**
 * The stand-in for the node that runs the runner Jobs: it watches FakeKubernetes for the pods of
 * runner Jobs and runs each the way a kubelet and a container runtime do, where it matters:
 * - the pod gets a network namespace of its own with its own IP (PodNetwork); all its containers
 *   share it, and each container has its own mount and PID namespaces (container-sandbox.ts);
 * - each container runs as its securityContext says (runAsUser/runAsGroup over the image's USER,
 *   fsGroup and supplementalGroups as groups, runAsNonRoot refusing uid 0, capabilities dropped to
 *   `add`, no_new_privs, a read-only root filesystem), with its env resolved as the kubelet does;
 * - emptyDirs are made root-owned with the fsGroup as group, mode 2777; the termination-log file
 *   is mounted at /dev/termination-log, mode 0666;
 * - the native sidecars start first, one by one, each only after its startup probe passed, the
 *   probe sent as the kubelet sends it (to the pod IP unless `host` is set; exec in the container);
 *   then the `agent` container. When it exits the sidecars get SIGTERM (then SIGKILL after the
 *   grace period), and the pod's end is reported with `setJobPhase`, the termination message read
 *   from the termination-log file (or the log tail, with FallbackToLogsOnError).
 * A field it cannot honour is listed in `unhonoured`; one it does not know fails the pod.
 *
 * Liberties taken (each said where it is taken): the host's node runs the runner's sources
 * instead of the image (hostEntry); the container sees the host's filesystem (read-only) instead
 * of the image's, with its volumes at their host paths (PodHostMapping); a sidecar whose startup
 * probe fails for good is not restarted: the pod is given up with the reason in `error`.
 */
export class Kubelet {
  readonly runs: PodRun[] = [];
  readonly #options: Required<KubeletOptions>;
  readonly #seen = new Set<string>();
  /** Pod directories stay until stop(), so a test can read what a pod was given. */
  readonly #dirs: string[] = [];
  /** Containers sent SIGTERM once already: a second would cut their graceful stop short. */
  readonly #terminating = new WeakSet<ServiceProcess>();
  readonly #timer: NodeJS.Timeout;
  #stopped = false;

  constructor(options: KubeletOptions) {
    this.#options = {
      runnerDir: join(REPO_ROOT, 'runner'),
      imageEnv: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', NODE_ENV: 'production', HOME: '/tmp' },
      imageUser: { uid: 10001, gid: 10001 },
      hostPorts: [],
      startTimeoutMs: 30_000,
      ...options,
    };
    this.#timer = setInterval(() => this.#poll(), 50);
  }

  /** The runs of a task's pods, oldest first. */
  runsFor(taskId: string): PodRun[] {
    return this.runs.filter((run) => run.taskId === taskId);
  }

  /** Resolves once every pod started so far has ended. */
  async idle(): Promise<void> {
    let count = -1;
    while (count !== this.runs.length) {
      count = this.runs.length;
      await Promise.all(this.runs.map((run) => run.done));
    }
  }

  /** Stops watching, kills what still runs, waits for it, and removes the pods' directories. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    for (const run of this.runs) for (const container of containersOf(run)) await container.process.kill();
    await this.idle();
    await Promise.all(this.#dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }

  #poll(): void {
    if (this.#stopped) return;
    const pods = this.#options.kubernetes.pods(this.#options.namespace);
    for (const pod of pods) {
      const uid = pod.metadata.uid ?? '';
      const running = (pod.status as { phase?: string } | undefined)?.phase === 'Running';
      if (pod.metadata.labels?.[LABELS.app] !== RUNNER_APP || !running || this.#seen.has(uid)) continue;
      this.#seen.add(uid);
      const run: PodRun = {
        pod: pod.metadata.name ?? '',
        job: pod.metadata.ownerReferences?.find((ref) => ref.kind === 'Job')?.name ?? '',
        taskId: pod.metadata.labels?.[LABELS.taskId],
        unhonoured: [],
        probes: [],
        sidecars: [],
        done: Promise.resolve(),
      };
      run.done = this.#run(pod, run).catch((err: unknown) => {
        run.error = (err as Error).message;
      });
      this.runs.push(run);
    }
    // A pod that is gone (its Job deleted) has its containers stopped, as the kubelet does.
    const live = new Set(pods.filter((pod) => !pod.metadata.deletionTimestamp).map((pod) => pod.metadata.name));
    for (const run of this.runs) {
      if (live.has(run.pod)) continue;
      for (const container of containersOf(run)) void this.#terminate(container, DEFAULT_GRACE_SECONDS);
    }
  }

  async #run(pod: KubeObject, run: PodRun): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), `anton-pod-${run.pod}-`));
    // Searchable by others: the containers' users must reach their volumes in here.
    await chmod(dir, 0o711);
    this.#dirs.push(dir);
    const spec = pod.spec as { initContainers?: ContainerSpec[]; terminationGracePeriodSeconds?: number };
    const grace = spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
    let network: PodNetwork | undefined;
    try {
      run.unhonoured = unhonouredFields(pod.spec as Record<string, unknown>);
      const mapping = await PodHostMapping.prepare(pod, dir, (name) => this.#configMap(name));
      run.mapping = mapping;
      network = await PodNetwork.create(this.#options.hostPorts);
      run.network = { podIp: network.podIp, hostIp: network.hostIp };
      const sidecars = (spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
      if (sidecars.length !== (spec.initContainers ?? []).length) {
        throw new PodSpecError('only native sidecars (restartPolicy: Always) are supported as initContainers');
      }
      for (const sidecar of sidecars) {
        const started = await this.#start(pod, run, sidecar, mapping, network);
        run.sidecars.push(started);
        if (sidecar.startupProbe) await this.#probe(started, sidecar, network);
      }
      const agentSpec = allContainers(pod).find((c) => c.name === 'agent');
      if (!agentSpec) throw new PodSpecError('the pod has no container named agent');
      const agent = await this.#start(pod, run, agentSpec, mapping, network);
      run.agent = agent;
      const exitCode = exitCodeOf(await agent.process.exited);
      // Sidecars stop after the main containers, in reverse order of their start.
      for (const sidecar of [...run.sidecars].reverse()) await this.#terminate(sidecar, grace);
      run.exitCode = exitCode;
      run.terminationMessage = await terminationMessage(agentSpec, agent, mapping, exitCode);
      if (this.#stopped || !this.#options.kubernetes.get('Pod', this.#options.namespace, run.pod)) return;
      this.#options.kubernetes.setJobPhase(this.#options.namespace, run.job, exitCode === 0 ? 'succeeded' : 'failed', {
        exitCode,
        terminationMessage: run.terminationMessage,
      });
    } finally {
      for (const container of containersOf(run)) await container.process.kill();
      await network?.close();
    }
  }

  async #start(
    pod: KubeObject,
    run: PodRun,
    spec: ContainerSpec,
    mapping: PodHostMapping,
    network: PodNetwork,
  ): Promise<ContainerRun> {
    const identity = identityOf(pod, spec, this.#options.imageUser);
    const mounts = mapping.mounts(spec);
    const declared = resolveEnv(pod, spec, {
      imageEnv: this.#options.imageEnv,
      secrets: this.#options.secrets,
      podIp: network.podIp,
    });
    const env = Object.fromEntries(
      Object.entries(declared).map(([name, value]) => [name, PodHostMapping.rewrite(mounts, value)]),
    );
    const own = join(mapping.dir, 'containers', spec.name);
    const devStage = join(own, 'dev');
    await mkdir(devStage);
    const mounted = new Set((spec.volumeMounts ?? []).map((mount) => mount.name));
    const others = allContainers(pod).filter((c) => c.name !== spec.name);
    const launcher = containerArgv(
      network,
      identity,
      {
        binds: (spec.volumeMounts ?? []).map((mount) => ({
          path: mapping.volumes.get(mount.name) ?? '',
          readOnly: mount.readOnly === true,
        })),
        hidden: [
          ...[...mapping.volumes].filter(([name]) => !mounted.has(name)).map(([, path]) => path),
          ...others.map((c) => join(mapping.dir, 'containers', c.name)),
        ],
        termination: {
          hostFile: mapping.terminationFile(spec),
          containerPath: spec.terminationMessagePath ?? DEFAULT_TERMINATION_PATH,
        },
        readOnlyRoot: spec.securityContext?.readOnlyRootFilesystem === true,
        devStage,
      },
      [],
    );
    const { init, script, args } = hostEntry(spec.command, spec.args, this.#options.runnerDir);
    const process = await ServiceProcess.start({
      name: `${run.pod}/${spec.name}`,
      entry: script,
      args,
      env,
      cwd: this.#options.runnerDir,
      launcher: [...launcher, ...init],
    });
    return { name: spec.name, command: spec.command ?? [], script, env, mounts, identity, process };
  }

  async #probe(container: ContainerRun, spec: ContainerSpec, network: PodNetwork): Promise<void> {
    const probe = spec.startupProbe;
    if (!probe) return;
    await runStartupProbe(probe, {
      container: container.name,
      podIp: network.podIp,
      running: () => container.process.exit === undefined && !this.#stopped,
      record: (attempt) => this.runs.find((run) => run.sidecars.includes(container))?.probes.push(attempt),
      exec: (command, timeoutMs) => this.#exec(container, command, timeoutMs),
    });
  }

  /** Runs a command in a running container, as `kubectl exec` (and an exec probe) does. */
  async #exec(
    container: ContainerRun,
    command: string[],
    timeoutMs: number,
  ): Promise<{ code: number | null; output: string }> {
    const pid = container.process.pid;
    const init = pid === undefined ? undefined : await containerInitPid(pid);
    if (init === undefined) return { code: null, output: 'the container has no init process' };
    const { init: tini, script, args } = hostEntry(command, [], this.#options.runnerDir);
    const argv = execArgv(init, container.identity, [
      ...tini,
      process.execPath,
      '--conditions=source',
      script,
      ...args,
    ]);
    return new Promise((resolve) => {
      execFile(
        argv[0] ?? '',
        argv.slice(1),
        { env: container.env, cwd: this.#options.runnerDir, timeout: timeoutMs, killSignal: 'SIGKILL' },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
          resolve({ code, output: `${stdout}${stderr}` });
        },
      );
    });
  }

  /** SIGTERM to the container's PID 1, as the runtime sends it; SIGKILL after the grace period. */
  async #terminate(container: ContainerRun, graceSeconds: number): Promise<void> {
    const child = container.process;
    if (child.exit || this.#terminating.has(child)) return;
    this.#terminating.add(child);
    const init = child.pid === undefined ? undefined : await containerInitPid(child.pid);
    if (init !== undefined) {
      try {
        process.kill(init, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    const timer = setTimeout(() => void child.kill(), graceSeconds * 1000);
    await child.exited;
    clearTimeout(timer);
  }

  /** The data of a ConfigMap volume; the pod waits for it to exist, as it does on a node. */
  async #configMap(name: string): Promise<Record<string, string>> {
    const deadline = Date.now() + this.#options.startTimeoutMs;
    for (;;) {
      const found = this.#options.kubernetes.get('ConfigMap', this.#options.namespace, name);
      if (found) return ((found as { data?: Record<string, string> }).data ?? {}) as Record<string, string>;
      if (Date.now() > deadline || this.#stopped) throw new PodSpecError(`ConfigMap ${name} never appeared`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/**
 * Who a container runs as, as the kubelet works it out: the container's securityContext over the
 * pod's over the image's USER; the pod's fsGroup and supplementalGroups as supplementary groups;
 * `runAsNonRoot` refuses uid 0 (CreateContainerConfigError); capabilities are what `add` names
 * after `drop: [ALL]` (pod-fields.ts refuses any other form).
 */
export function identityOf(
  pod: KubeObject,
  spec: ContainerSpec,
  image: { uid: number; gid: number },
): ContainerIdentity {
  const podContext = ((pod.spec as { securityContext?: PodSecurityContext }).securityContext ??
    {}) as PodSecurityContext;
  const own = spec.securityContext ?? {};
  const uid = own.runAsUser ?? podContext.runAsUser ?? image.uid;
  const gid = own.runAsGroup ?? podContext.runAsGroup ?? image.gid;
  if ((own.runAsNonRoot ?? podContext.runAsNonRoot) === true && uid === 0) {
    throw new PodSpecError(`container ${spec.name}: container has runAsNonRoot and image will run as root`);
  }
  if (!own.capabilities?.drop?.includes('ALL')) {
    throw new PodSpecError(`container ${spec.name}: only capabilities with drop: [ALL] are modelled`);
  }
  const groups = [
    ...new Set([
      ...(podContext.fsGroup === undefined ? [] : [podContext.fsGroup]),
      ...(podContext.supplementalGroups ?? []),
    ]),
  ];
  return {
    uid,
    gid,
    groups,
    capabilities: (own.capabilities.add ?? []).map((cap) => cap.toLowerCase().replace(/^cap_/, '')),
    noNewPrivs: own.allowPrivilegeEscalation === false,
  };
}

async function terminationMessage(
  spec: ContainerSpec,
  agent: ContainerRun,
  mapping: PodHostMapping,
  exitCode: number,
): Promise<string> {
  const written = await readFile(mapping.terminationFile(spec), 'utf8').catch(() => '');
  if (written || exitCode === 0 || spec.terminationMessagePolicy !== 'FallbackToLogsOnError') {
    return truncate(written);
  }
  return truncate(agent.process.output.slice(-FALLBACK_LOG_LINES).join('\n'));
}

function truncate(text: string): string {
  const bytes = Buffer.from(text);
  return bytes.length <= TERMINATION_MESSAGE_BYTES ? text : bytes.subarray(-TERMINATION_MESSAGE_BYTES).toString();
}

function containersOf(run: PodRun): ContainerRun[] {
  return [...run.sidecars, ...(run.agent ? [run.agent] : [])];
}
