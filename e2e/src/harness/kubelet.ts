import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS, RUNNER_APP } from '@anton/contracts';
import { accepts, type FakeKubernetes, type KubeObject, REPO_ROOT, ServiceProcess } from '@anton/testing';
import {
  allContainers,
  type ContainerSpec,
  exitCodeOf,
  hostEntry,
  PodHostMapping,
  PodSpecError,
  resolveEnv,
  type SecretStore,
} from './pod-host-mapping.ts';

/** Kubernetes keeps this much of a termination message (and of the log tail it falls back to). */
const TERMINATION_MESSAGE_BYTES = 4096;
const FALLBACK_LOG_LINES = 80;

export interface KubeletOptions {
  kubernetes: FakeKubernetes;
  namespace: string;
  /** The Secrets the pods' `secretKeyRef`s read (e.g. `anton-secrets`). */
  secrets: SecretStore;
  /** The runner package, standing for the image's WORKDIR (/app). */
  runnerDir?: string;
  /** The image's own environment (its Dockerfile ENV); paths in it are mapped like the rest. */
  imageEnv?: Record<string, string>;
  /** How long a pod may wait for its ConfigMap, and its sidecar for its port. */
  startTimeoutMs?: number;
}

/** One container as it ran: the host command, the environment it got, and its process. */
export interface ContainerRun {
  name: string;
  /** The command the pod spec gives. */
  command: string[];
  script: string;
  env: Record<string, string>;
  /** Container path → host path. */
  mounts: Map<string, string>;
  process: ServiceProcess;
}

/** One pod of a runner Job, run on this host. */
export interface PodRun {
  pod: string;
  job: string;
  taskId: string | undefined;
  mapping?: PodHostMapping;
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
 * runner Jobs and runs each the way its spec says (the native sidecars first, each waited for on
 * its startup probe's port, then the `agent` container), with the environment resolved as the
 * kubelet does (values, secretKeyRefs, fieldRefs) and the pod's paths and ports mapped onto this
 * host (see PodHostMapping). When the agent exits, the sidecars are stopped and the pod's end is
 * reported with `setJobPhase`, the termination message read from the container's
 * terminationMessagePath (or its log tail, with FallbackToLogsOnError).
 *
 * The only liberty taken with what runs: the image's `node dist/<x>.js` runs as
 * `node --conditions=source runner/src/<x>.ts` (the same entry point, from the sources; hostEntry).
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
      for (const container of containersOf(run)) {
        if (container.process.exit || this.#terminating.has(container.process)) continue;
        this.#terminating.add(container.process);
        void container.process.stop().catch(noop);
      }
    }
  }

  async #run(pod: KubeObject, run: PodRun): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), `anton-pod-${run.pod}-`));
    // Searchable by others: a runner started as root runs its agent as a user of its own, which
    // must reach the workspace in here (runner/src/shell/agent-user.ts).
    await chmod(dir, 0o711);
    this.#dirs.push(dir);
    try {
      const mapping = await PodHostMapping.prepare(pod, dir, (name) => this.#configMap(name));
      run.mapping = mapping;
      const containers = allContainers(pod);
      const spec = pod.spec as { initContainers?: ContainerSpec[] };
      const sidecars = (spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
      if (sidecars.length !== (spec.initContainers ?? []).length) {
        throw new PodSpecError('only native sidecars (restartPolicy: Always) are supported as initContainers');
      }
      for (const sidecar of sidecars) {
        const started = await this.#start(pod, run, sidecar, mapping);
        run.sidecars.push(started);
        await this.#probe(started, sidecar, mapping);
      }
      const agentSpec = containers.find((c) => c.name === 'agent');
      if (!agentSpec) throw new PodSpecError('the pod has no container named agent');
      const agent = await this.#start(pod, run, agentSpec, mapping);
      run.agent = agent;
      const exitCode = exitCodeOf(await agent.process.exited);
      for (const sidecar of run.sidecars) await sidecar.process.stop().catch(noop);
      run.exitCode = exitCode;
      run.terminationMessage = await terminationMessage(agentSpec, agent, exitCode);
      if (this.#stopped || !this.#options.kubernetes.get('Pod', this.#options.namespace, run.pod)) return;
      this.#options.kubernetes.setJobPhase(this.#options.namespace, run.job, exitCode === 0 ? 'succeeded' : 'failed', {
        exitCode,
        terminationMessage: run.terminationMessage,
      });
    } finally {
      for (const container of containersOf(run)) await container.process.kill();
    }
  }

  async #start(pod: KubeObject, run: PodRun, spec: ContainerSpec, mapping: PodHostMapping): Promise<ContainerRun> {
    const mounts = await mapping.mounts(spec);
    const declared = resolveEnv(pod, spec, { imageEnv: this.#options.imageEnv, secrets: this.#options.secrets });
    const env = Object.fromEntries(
      Object.entries(declared).map(([name, value]) => [name, mapping.rewrite(mounts, value)]),
    );
    // Kubernetes mounts a file at terminationMessagePath; it cannot sit at /dev/termination-log on
    // this host, so the program is told where it is (the runner reads TERMINATION_LOG first).
    const terminationFile = PodHostMapping.hostPath(mounts, spec.terminationMessagePath ?? '/dev/termination-log');
    if (terminationFile && spec.restartPolicy !== 'Always') env.TERMINATION_LOG = terminationFile;
    const { script, args } = hostEntry(spec, this.#options.runnerDir);
    const process = await ServiceProcess.start({
      name: `${run.pod}/${spec.name}`,
      entry: script,
      args,
      env,
      cwd: this.#options.runnerDir,
    });
    return { name: spec.name, command: spec.command ?? [], script, env, mounts, process };
  }

  /** The startup probe: the sidecar counts as started once its port accepts connections. */
  async #probe(container: ContainerRun, spec: ContainerSpec, mapping: PodHostMapping): Promise<void> {
    const port = spec.startupProbe?.tcpSocket?.port;
    if (typeof port !== 'number') return;
    const hostPort = mapping.ports.get(port) ?? port;
    const deadline = Date.now() + this.#options.startTimeoutMs;
    while (!(await accepts(hostPort))) {
      if (container.process.exit || Date.now() > deadline) {
        throw new PodSpecError(`sidecar ${container.name} did not listen on ${port}\n${container.process.tail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
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

async function terminationMessage(spec: ContainerSpec, agent: ContainerRun, exitCode: number): Promise<string> {
  const file = PodHostMapping.hostPath(agent.mounts, spec.terminationMessagePath ?? '/dev/termination-log');
  const written = file ? await readFile(file, 'utf8').catch(() => '') : '';
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

const noop = () => undefined;
