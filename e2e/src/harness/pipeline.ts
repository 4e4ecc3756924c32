import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  contextConfigMapName,
  jobName,
  LABELS,
  RUNNER_APP,
  SECRET_KEYS,
  SECRET_NAME,
  type Source,
  TASK_COMPLETED,
  TaskOutcome,
} from '@anton/contracts';
import { createSourceRegistry } from '@anton/ingester/sources';
import {
  type Capture,
  captureMessages,
  createSampleRepo,
  createTestVhost,
  FakeAnthropic,
  FakeDatadog,
  FakeGitHub,
  FakeJira,
  FakeKubernetes,
  FakeOpenAI,
  FakeSonar,
  type GitHttpServer,
  type KubeObject,
  type LogLine,
  type SampleRepo,
  ServiceProcess,
  serviceEntry,
  startGitHttpServer,
  type TestBrokerNode,
  type TestVhost,
} from '@anton/testing';
import { Kubelet } from './kubelet.ts';
import { SAMPLE_KEYS } from './sample-webhooks.ts';
import { scriptSampleFix } from './scripted-llm.ts';

export const NAMESPACE = 'agents';
/** One GitHub token serves the API and git, as a GitHub App installation token does. */
const GITHUB_TOKEN = `ghs_e2e${randomBytes(12).toString('hex')}`;

export interface PipelineOptions {
  /** Names the vhost (default `e2e`). */
  label?: string;
  /** Added to (and overriding) the services' environments, e.g. a RABBITMQ_URL through a proxy. */
  ingesterEnv?: Record<string, string>;
  orchestratorEnv?: Record<string, string>;
  /** Run the runner Jobs' pods (default true). */
  kubelet?: boolean;
  /** The broker node the vhost goes on (default: the machine's shared broker). */
  broker?: TestBrokerNode;
}

export interface WebhookReply {
  status: number;
  body: Record<string, unknown>;
}

/**
 * The whole system on this machine: the ingester and the orchestrator as processes started from
 * their entry points, the real broker (a vhost of its own), the fakes (Anthropic, OpenAI, GitHub,
 * Kubernetes, Jira, Datadog, Sonar), the sample repository behind a token-checking git server, a routing
 * config mapping SHOP / sample-shop / acme_sample-shop to it, and a kubelet running the runner pods.
 * The LLM fakes are scripted to fix the sample project (`scriptSampleFix`); tests may re-script them.
 * The orchestrator reports outcomes to FakeJira and FakeDatadog; `outcomes` holds task.completed.
 */
export class Pipeline {
  readonly options: PipelineOptions;
  readonly webhookSecret = `e2e-${randomBytes(12).toString('hex')}`;
  vhost!: TestVhost;
  anthropic!: FakeAnthropic;
  openai!: FakeOpenAI;
  github!: FakeGitHub;
  kubernetes!: FakeKubernetes;
  jira!: FakeJira;
  datadog!: FakeDatadog;
  /** The SonarCloud Web API the orchestrator enriches Sonar tasks from; project acme_sample-shop exists. */
  sonar!: FakeSonar;
  sample!: SampleRepo;
  gitServer!: GitHttpServer;
  /** The sample repository's clone URL (http, on the git server). */
  repoUrl!: string;
  routingConfigPath!: string;
  ingester!: ServiceProcess;
  ingesterUrl!: string;
  orchestrator!: ServiceProcess;
  /** The orchestrator's health and metrics port. */
  healthUrl!: string;
  kubelet: Kubelet | undefined;
  /** Every `task.completed` message published on the exchange. */
  outcomes!: Capture;
  readonly #sources = createSourceRegistry({ jira: { triggerLabel: undefined, triggerStatuses: [] } });
  #dir!: string;

  private constructor(options: PipelineOptions) {
    this.options = options;
  }

  static async start(options: PipelineOptions = {}): Promise<Pipeline> {
    const pipeline = new Pipeline(options);
    try {
      await pipeline.#start();
    } catch (err) {
      await pipeline.close();
      throw err;
    }
    return pipeline;
  }

  async #start(): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), 'anton-e2e-'));
    this.sample = await createSampleRepo();
    // GitHub's web pages (pull request URLs) are on its git host, as on github.com.
    this.gitServer = await startGitHttpServer({ root: this.sample.root, token: GITHUB_TOKEN });
    [this.vhost, this.anthropic, this.openai, this.github, this.kubernetes, this.jira, this.datadog, this.sonar] =
      await Promise.all([
        createTestVhost(this.options.label ?? 'e2e', this.options.broker),
        FakeAnthropic.start(),
        FakeOpenAI.start(),
        FakeGitHub.start({ token: GITHUB_TOKEN, htmlUrl: this.gitServer.url }),
        FakeKubernetes.start(),
        FakeJira.start(),
        FakeDatadog.start(),
        FakeSonar.start(),
      ]);
    this.github.addRepository('acme', 'sample-shop', { bareDir: this.sample.bareDir });
    this.sonar.addProject(SAMPLE_KEYS.sonarProject);
    this.repoUrl = this.gitServer.repoUrl(this.sample.name);
    scriptSampleFix(this.anthropic, this.openai);
    this.routingConfigPath = join(this.#dir, 'routing.yaml');
    await writeFile(
      this.routingConfigPath,
      [
        'repositories:',
        `  - url: ${this.repoUrl}`,
        '    base_branch: main',
        `    jira_projects: [${SAMPLE_KEYS.jiraProject}]`,
        `    datadog_services: [${SAMPLE_KEYS.datadogService}]`,
        `    sonar_projects: [${SAMPLE_KEYS.sonarProject}]`,
        '    languages: [javascript]',
        '',
      ].join('\n'),
    );
    this.outcomes = await captureMessages(this.vhost.url, TASK_COMPLETED);
    await Promise.all([this.startIngester(), this.startOrchestrator()]);
    if (this.options.kubelet !== false) {
      this.kubelet = new Kubelet({
        kubernetes: this.kubernetes,
        namespace: NAMESPACE,
        // What the pods reach outside themselves: the upstreams the Jobs are rendered with (a test
        // may point one at a fault proxy) and the git server.
        hostPorts: this.#podUpstreams().map((url) => Number(new URL(url).port)),
        secrets: {
          [SECRET_NAME]: {
            [SECRET_KEYS.anthropicApiKey]: this.anthropic.apiKey,
            [SECRET_KEYS.openaiApiKey]: this.openai.apiKey,
            [SECRET_KEYS.githubToken]: GITHUB_TOKEN,
          },
        },
      });
    }
  }

  /** The URLs a runner pod talks to: the credential proxy's upstreams and the repository. */
  #podUpstreams(): string[] {
    const env = this.orchestratorEnv();
    const upstreams = [env.ANTHROPIC_BASE_URL, env.OPENAI_BASE_URL, env.GITHUB_API_URL, this.repoUrl];
    return upstreams.filter((url): url is string => url !== undefined);
  }

  /** The secrets the runner pods get through `anton-secrets`, for tests that look for leaks. */
  get secretValues(): string[] {
    return [this.anthropic.apiKey, this.openai.apiKey, GITHUB_TOKEN];
  }

  ingesterEnv(): Record<string, string> {
    return {
      PORT: '0',
      METRICS_PORT: '0',
      HOST: '127.0.0.1',
      WEBHOOK_SECRET: this.webhookSecret,
      RABBITMQ_URL: this.vhost.url,
      LOG_LEVEL: 'info',
      ...this.options.ingesterEnv,
    };
  }

  orchestratorEnv(): Record<string, string> {
    return {
      LOG_LEVEL: 'info',
      RABBITMQ_URL: this.vhost.url,
      DISPATCHER: 'kubernetes',
      KUBECONFIG: this.kubernetes.kubeconfigPath,
      K8S_NAMESPACE: NAMESPACE,
      AGENT_IMAGE: 'anton-runner:e2e',
      ANTHROPIC_API_KEY: this.anthropic.apiKey,
      ANTHROPIC_BASE_URL: this.anthropic.url,
      // The credential proxy's upstreams, rendered into the runner Jobs.
      OPENAI_BASE_URL: this.openai.baseURL,
      GITHUB_API_URL: this.github.url,
      // The fakes run the API and git on two ports; on github.com both are derived from GITHUB_API_URL.
      GITHUB_GIT_URL: this.gitServer.url,
      ROUTING_CONFIG: this.routingConfigPath,
      JIRA_BASE_URL: this.jira.url,
      JIRA_EMAIL: this.jira.email,
      JIRA_API_TOKEN: this.jira.apiToken,
      DATADOG_API_KEY: this.datadog.apiKey,
      DATADOG_API_URL: this.datadog.url,
      DATADOG_APP_KEY: this.datadog.appKey,
      SONAR_TOKEN: this.sonar.token,
      SONAR_URL: this.sonar.url,
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      SHUTDOWN_TIMEOUT_MS: '5000',
      // Retries wait in the broker: seconds here, so a case sees them without minutes of waiting.
      RETRY_DELAYS: '500ms,1s,2s',
      REPORT_RETRY_DELAYS: '500ms,1s,2s',
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      ...this.options.orchestratorEnv,
    };
  }

  /** Starts (or, after a stop, restarts) the ingester; resolves once it listens. */
  async startIngester(): Promise<ServiceProcess> {
    this.ingester = await ServiceProcess.start({
      name: 'ingester',
      entry: serviceEntry('ingester'),
      env: this.ingesterEnv(),
      ready: (line) => typeof line.msg === 'string' && line.msg.startsWith('Server listening at'),
    });
    const listening = this.ingester.lines.find((line) => line.msg?.startsWith('Server listening at'));
    this.ingesterUrl = String(listening?.msg).replace('Server listening at ', '');
    return this.ingester;
  }

  /** Starts (or restarts) the orchestrator; resolves once it consumes. */
  async startOrchestrator(): Promise<ServiceProcess> {
    this.orchestrator = await ServiceProcess.start({
      name: 'orchestrator',
      entry: serviceEntry('orchestrator'),
      env: this.orchestratorEnv(),
      ready: (line) => line.msg === 'orchestrator started',
    });
    const started = this.orchestrator.lines.find((line) => line.msg === 'orchestrator started');
    this.healthUrl = String(started?.health);
    return this.orchestrator;
  }

  /** Posts a webhook signed as its sender signs it (the ingester's own `sign()`), with extra headers. */
  async postWebhook(
    source: Source,
    payload: Buffer | object,
    { headers = {}, secret = this.webhookSecret }: { headers?: Record<string, string>; secret?: string } = {},
  ): Promise<WebhookReply> {
    const sender = this.#sources[source];
    const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
    const response = await fetch(`${this.ingesterUrl}/webhooks/${sender.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...sender.sign(body, secret), ...headers },
      body,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** The runner Jobs in the cluster. */
  runnerJobs(): KubeObject[] {
    return this.kubernetes.jobs(NAMESPACE).filter((job) => job.metadata.labels?.[LABELS.app] === RUNNER_APP);
  }

  job(taskId: string): KubeObject | undefined {
    return this.kubernetes.get('Job', NAMESPACE, jobName(taskId));
  }

  contextConfigMap(taskId: string): KubeObject | undefined {
    return this.kubernetes.get('ConfigMap', NAMESPACE, contextConfigMapName(taskId));
  }

  /** A task's log lines in each process: ingester, orchestrator, and its runner pods' containers. */
  logsFor(taskId: string): { ingester: LogLine[]; orchestrator: LogLine[]; runner: LogLine[]; proxy: LogLine[] } {
    const runs = this.kubelet?.runsFor(taskId) ?? [];
    return {
      ingester: this.ingester.linesFor(taskId),
      orchestrator: this.orchestrator.linesFor(taskId),
      runner: runs.flatMap((run) => run.agent?.process.linesFor(taskId) ?? []),
      proxy: runs.flatMap((run) => run.sidecars.flatMap((sidecar) => sidecar.process.linesFor(taskId))),
    };
  }

  /** The `task.completed` messages about a task, parsed. */
  outcomesFor(taskId: string): TaskOutcome[] {
    return this.outcomes
      .bodies()
      .map((body) => TaskOutcome.parse(body))
      .filter((outcome) => outcome.task_id === taskId);
  }

  /** Scrapes the orchestrator's Prometheus metrics. */
  async metrics(): Promise<string> {
    return (await fetch(`${this.healthUrl}/metrics`)).text();
  }

  /** Stops everything; the services with SIGTERM, checking that they exit cleanly (the first failure is thrown). */
  async close(): Promise<void> {
    const failures: unknown[] = [];
    const attempt = async (step: () => Promise<unknown> | undefined) => {
      try {
        await step();
      } catch (err) {
        failures.push(err);
      }
    };
    await attempt(() => this.kubelet?.stop());
    await attempt(() => this.ingester?.stop());
    await attempt(() => this.orchestrator?.stop());
    await attempt(() => this.outcomes?.close());
    for (const fake of [
      this.anthropic,
      this.openai,
      this.github,
      this.kubernetes,
      this.jira,
      this.datadog,
      this.sonar,
    ]) {
      await attempt(() => fake?.close());
    }
    await attempt(() => this.gitServer?.close());
    await attempt(() => this.sample?.cleanup());
    await attempt(() => this.vhost?.delete());
    if (this.#dir) await attempt(() => rm(this.#dir, { recursive: true, force: true }));
    if (failures.length > 0) throw failures[0];
  }
}
