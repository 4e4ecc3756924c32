import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEAD_LETTER_QUEUE, ORCHESTRATOR_QUEUE } from '@anton/contracts';
import { createTestVhost, FakeAnthropic, FakeKubernetes, type TestVhost } from '@anton/testing';
import pino, { type Logger } from 'pino';
import { loadConfig } from '../src/config.ts';
import { type RunningOrchestrator, startOrchestrator } from '../src/orchestrator.ts';
import { TestBroker } from './broker.ts';

export const ROUTING_YAML = `
allowed_repositories: [github.com/acme/*]
repositories:
  - url: https://github.com/acme/orders.git
    base_branch: develop
    jira_projects: [ORD]
    languages: [java]
    instructions: Run mvn -q test before submitting.
`;

/**
 * The orchestrator wired as in production (in this process), against the real broker (a vhost of
 * its own), FakeKubernetes and FakeAnthropic, with a routing file. One per test file.
 */
export class Pipeline {
  vhost!: TestVhost;
  broker!: TestBroker;
  kubernetes!: FakeKubernetes;
  anthropic!: FakeAnthropic;
  orchestrator: RunningOrchestrator | undefined;
  #dir!: string;

  async setUp(label: string): Promise<void> {
    this.vhost = await createTestVhost(label);
    this.#dir = await mkdtemp(join(tmpdir(), 'orchestrator-pipeline-'));
    await writeFile(join(this.#dir, 'routing.yaml'), ROUTING_YAML);
  }

  async tearDown(): Promise<void> {
    await rm(this.#dir, { recursive: true, force: true });
    await this.vhost.delete();
  }

  /** Fresh fakes and broker connection for a test. */
  async beforeEach(): Promise<void> {
    this.kubernetes = await FakeKubernetes.start();
    this.anthropic = await FakeAnthropic.start();
    this.broker = await TestBroker.connect(this.vhost.url);
  }

  async afterEach(): Promise<void> {
    await this.orchestrator?.stop();
    this.orchestrator = undefined;
    await this.broker.drain(ORCHESTRATOR_QUEUE).catch(() => undefined);
    await this.broker.drain(DEAD_LETTER_QUEUE).catch(() => undefined);
    // Retries waiting in the broker must not come back into the next test.
    for (const step of ['20ms', '50ms']) {
      await this.broker.channel.deleteQueue(`${ORCHESTRATOR_QUEUE}.retry.${step}`).catch(() => undefined);
    }
    await this.broker.close();
    await this.kubernetes.close();
    await this.anthropic.close();
  }

  env(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      LOG_LEVEL: 'silent',
      RABBITMQ_URL: this.vhost.url,
      DISPATCHER: 'kubernetes',
      KUBECONFIG: this.kubernetes.kubeconfigPath,
      K8S_NAMESPACE: 'agents',
      AGENT_IMAGE: 'registry.example/anton-runner:1.0.0',
      ANTHROPIC_API_KEY: this.anthropic.apiKey,
      ANTHROPIC_BASE_URL: this.anthropic.url,
      ROUTING_CONFIG: join(this.#dir, 'routing.yaml'),
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      KUBERNETES_RETRIES: '2',
      KUBERNETES_RETRY_DELAY_MS: '5',
      // Retries wait in the broker; short here so a test sees them all.
      RETRY_DELAYS: '20ms,50ms',
      SHUTDOWN_TIMEOUT_MS: '5000',
      ...overrides,
    };
  }

  async start(
    overrides: Record<string, string> = {},
    logger: Logger = pino({ level: 'silent' }),
  ): Promise<RunningOrchestrator> {
    this.orchestrator = await startOrchestrator(loadConfig(this.env(overrides)), logger);
    return this.orchestrator;
  }
}
