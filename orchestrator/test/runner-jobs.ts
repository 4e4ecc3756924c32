import { fileURLToPath } from 'node:url';
import type { AgentTask, RouterPlan } from '@anton/contracts';
import type { FakeKubernetes } from '@anton/testing';
import type { Logger } from 'pino';
import { dedupHash } from '../src/dedup.ts';
import { KubernetesDispatcher } from '../src/dispatch/kubernetes-dispatcher.ts';
import type { KubernetesApi } from '../src/kubernetes/kubernetes-api.ts';
import { JobRenderer } from '../src/render-job.ts';
import { DEFAULT_BUDGET } from '../src/task-budget.ts';
import { sameImageEverywhere } from './images.ts';
import { makeTask } from './tasks.ts';

const templatesDir = fileURLToPath(new URL('../templates', import.meta.url));
const plan: RouterPlan = {
  template_id: 'java-backend',
  complexity: 'medium',
  required_skills: ['java'],
  context_summary: 'OrderService.total dereferences a null discount.',
};

/** Starts runner Jobs the way the orchestrator does (Job + task.json), with running pods. */
export class RunnerJobs {
  readonly #fake: FakeKubernetes;
  readonly #dispatcher: KubernetesDispatcher;
  readonly #logger: Logger;

  private constructor(fake: FakeKubernetes, dispatcher: KubernetesDispatcher, logger: Logger) {
    this.#fake = fake;
    this.#dispatcher = dispatcher;
    this.#logger = logger;
  }

  static async create(fake: FakeKubernetes, api: KubernetesApi, logger: Logger): Promise<RunnerJobs> {
    const dispatcher = new KubernetesDispatcher({
      api,
      renderer: await JobRenderer.load(templatesDir),
      settings: {
        namespace: api.namespace,
        images: sameImageEverywhere('anton-runner:1'),
        upstreams: {},
        budget: DEFAULT_BUDGET,
      },
      retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 10 },
      logger,
    });
    return new RunnerJobs(fake, dispatcher, logger);
  }

  /** Dispatches a task and waits for its pod to run; returns the task and its Job's name. */
  async start(overrides: Partial<AgentTask> = {}): Promise<{ task: AgentTask; job: string }> {
    const task = makeTask(overrides);
    const { runnerName } = await this.#dispatcher.dispatch(
      {
        task,
        plan,
        routedBy: 'llm',
        dedupHash: dedupHash(task),
        repository: { url: 'https://github.com/acme/orders.git', baseBranch: 'main', resolvedBy: 'jira-project' },
      },
      this.#logger,
    );
    await this.#fake.settled();
    return { task, job: runnerName };
  }
}
