import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { FakeHttpServer, type Fault, type RecordedRequest, sendJson } from '../fake-http-server.ts';
import { apiGroupList, apiVersions, SERVER_VERSION } from './discovery.ts';
import { GarbageCollector } from './garbage-collector.ts';
import { type AutoComplete, JobController, type JobPhase, type JobPhaseOptions } from './job-controller.ts';
import { type KubeconfigFile, writeKubeconfig } from './kubeconfig.ts';
import { ObjectApi } from './object-api.ts';
import { ObjectStore } from './object-store.ts';
import { ResourceHandler } from './resource-handler.ts';
import { type KindName, type KubeObject, RESOURCES } from './resources.ts';
import { alreadyExists, failure, internalError, unauthorized } from './status.ts';
import { WatchHub } from './watch-hub.ts';
import { WorkQueue } from './work-queue.ts';

export interface FakeKubernetesOptions {
  /** Namespaces that exist (default: default, kube-system, agents). Writes elsewhere get 404. */
  namespaces?: string[];
  /** The namespace of the kubeconfig's context (default: the first of `namespaces`). */
  contextNamespace?: string;
  /** Finish Jobs' pods without a test calling setJobPhase. */
  autoComplete?: AutoComplete;
  /** What `/version` answers, over a 1.33 server's answer (`{ major: '1', minor: '28', gitVersion: 'v1.28.9' }`). */
  version?: Partial<typeof SERVER_VERSION>;
}

/** A Status-shaped fault for `inject()`: what the API server answers when overloaded or failing. */
export function kubernetesStatusFault(
  code: number,
  reason: string,
  message: string,
  retryAfterSeconds?: number,
): Fault {
  return {
    kind: 'status',
    status: code,
    headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
    body: failure(code, reason, message, retryAfterSeconds === undefined ? undefined : { retryAfterSeconds }),
  };
}

export type { AutoComplete, JobPhase, JobPhaseOptions, ScriptedOutcome } from './job-controller.ts';
export type { KindName, KubeObject } from './resources.ts';
export type { Status } from './status.ts';

const USER = 'system:serviceaccount:default:fake-client';

/**
 * A fake Kubernetes API server for @kubernetes/client-node: ConfigMaps, batch/v1 Jobs and the pods
 * their scripted controller runs, with the real server's Status errors, validation, resourceVersions,
 * watches and garbage collection. Plain HTTP; the kubeconfig it writes sets insecure-skip-tls-verify.
 */
export class FakeKubernetes extends FakeHttpServer {
  readonly token = `fake-k8s-${randomBytes(16).toString('hex')}`;
  readonly #store = new ObjectStore();
  readonly #queue = new WorkQueue();
  readonly #gc = new GarbageCollector(this.#store, this.#queue);
  readonly #objects = new ObjectApi(this.#store);
  readonly #watches = new WatchHub(this.#store);
  #jobs: JobController | undefined;
  #kubeconfig: KubeconfigFile | undefined;
  #version = SERVER_VERSION;

  static async start(options: FakeKubernetesOptions = {}): Promise<FakeKubernetes> {
    const fake = new FakeKubernetes();
    const namespaces = options.namespaces ?? ['default', 'kube-system', 'agents'];
    fake.#version = { ...SERVER_VERSION, ...options.version };
    for (const namespace of namespaces) fake.#store.namespaces.add(namespace);
    fake.#jobs = new JobController(fake.#store, fake.#queue, fake.#gc, options.autoComplete);
    fake.#routes();
    await fake.listen();
    fake.#kubeconfig = await writeKubeconfig(
      fake.url,
      fake.token,
      options.contextNamespace ?? namespaces[0] ?? 'default',
    );
    return fake;
  }

  /** A kubeconfig file for `KubeConfig.loadFromFile()` (or `KUBECONFIG`), removed on close. */
  get kubeconfigPath(): string {
    if (!this.#kubeconfig) throw new Error('FakeKubernetes is not started');
    return this.#kubeconfig.path;
  }

  /** The cluster's current resourceVersion (etcd revision). */
  get resourceVersion(): string {
    return String(this.#store.resourceVersion);
  }

  /** How many watch streams are open. */
  get openWatches(): number {
    return this.#watches.open;
  }

  jobs(namespace: string): KubeObject[] {
    return this.#store.list('Job', namespace);
  }

  configMaps(namespace: string): KubeObject[] {
    return this.#store.list('ConfigMap', namespace);
  }

  pods(namespace: string): KubeObject[] {
    return this.#store.list('Pod', namespace);
  }

  get(kind: KindName, namespace: string, name: string): KubeObject | undefined {
    return this.#store.get(kind, namespace, name);
  }

  createNamespace(name: string): void {
    this.#store.namespaces.add(name);
  }

  /**
   * Ends the Job's running pod: `succeeded` (exit 0) or `failed` (exit 1 unless `exitCode`), with
   * the container's termination message. The Job's status follows as its controller would write it,
   * so a failed pod may be replaced (backoffLimit) or fail the Job (podFailurePolicy, backoffLimit).
   */
  setJobPhase(
    namespace: string,
    name: string,
    phase: JobPhase,
    options: JobPhaseOptions = {},
  ): { job: KubeObject; pod: KubeObject } {
    return this.#controller().setPhase(namespace, name, phase, options);
  }

  /** Fails the Job as activeDeadlineSeconds running out does (reason DeadlineExceeded). */
  exceedJobDeadline(namespace: string, name: string): KubeObject {
    return this.#controller().exceedDeadline(namespace, name);
  }

  /** Cuts every open watch connection, as a restarting API server or a lost network does. */
  dropWatches(): number {
    return this.#watches.drop();
  }

  /** Ends every open watch cleanly (the server's watch timeout): clients watch again from where they were. */
  endWatches(): number {
    return this.#watches.end();
  }

  /** Forgets the change history: watches from an older resourceVersion get 410 Expired. */
  compact(): void {
    this.#store.compact();
  }

  /** Sends a BOOKMARK with the current resourceVersion to the watches that allow bookmarks. */
  bookmark(): void {
    this.#watches.bookmark();
  }

  /** Makes the next create of `kind` fail: 409 AlreadyExists (with the object's name) or 500. */
  failNextCreate(kind: KindName, code: 409 | 500, name = 'conflicting-name'): void {
    this.#objects.failNextCreate(
      kind,
      code === 409 ? alreadyExists(RESOURCES[kind], name) : internalError('etcdserver: request timed out'),
    );
  }

  /** Resolves once the fake's controllers have done what is pending (pods started, dependents collected). */
  async settled(): Promise<void> {
    await this.#queue.idle();
    const [error] = this.#queue.errors;
    if (error) throw error;
  }

  override async close(): Promise<void> {
    this.#watches.drop();
    this.#queue.close();
    await super.close();
    await this.#kubeconfig?.remove();
  }

  #controller(): JobController {
    if (!this.#jobs) throw new Error('FakeKubernetes is not started');
    return this.#jobs;
  }

  #routes(): void {
    const resources = new ResourceHandler({
      store: this.#store,
      objects: this.#objects,
      gc: this.#gc,
      watches: this.#watches,
      user: USER,
    });
    const authed =
      (handler: (req: RecordedRequest, res: ServerResponse) => void) => (req: RecordedRequest, res: ServerResponse) => {
        if (req.headers.authorization !== `Bearer ${this.token}`) {
          const { status } = unauthorized();
          return sendJson(res, 401, status);
        }
        handler(req, res);
      };
    this.route(
      'GET',
      '/version',
      authed((_req, res) => sendJson(res, 200, this.#version)),
    );
    this.route(
      'GET',
      '/api',
      authed((_req, res) => sendJson(res, 200, apiVersions(this.url.replace(/^https?:\/\//, '')))),
    );
    this.route(
      'GET',
      '/apis',
      authed((_req, res) => sendJson(res, 200, apiGroupList())),
    );
    // Every API path, one pattern per depth (the resource handler parses the segments itself):
    // up to /apis/<group>/<version>/watch/namespaces/<ns>/<plural>/<name>.
    const handle = authed((req, res) => resources.handle(req, res));
    for (let depth = 1; depth <= 7; depth += 1) {
      const rest = Array.from({ length: depth }, (_, i) => `/:s${i}`).join('');
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        this.route(method, `/api${rest}`, handle);
        this.route(method, `/apis${rest}`, handle);
      }
    }
    this.notFound = authed((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
    });
  }
}
