import type { MessagesRequest } from '@anton/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClients } from './clients.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { runTask } from './run-task.ts';
import { approve, type RunnerHarness, startRunnerHarness } from './testing/runner-harness.ts';
import { sampleFixScript } from './testing/scripted-coder.ts';

describe("runTask reads the repository's own instructions", () => {
  let h: RunnerHarness;
  beforeAll(async () => {
    h = await startRunnerHarness({
      commits: [
        {
          message: 'Add agent instructions',
          files: {
            'AGENTS.md': '# Agents\nAlways run `node --test` and keep functions pure.\n',
            'CONTRIBUTING.md': 'Write commit messages in English.\n',
          },
        },
      ],
    });
  });
  afterAll(() => h.close());

  async function run(contextOverrides = {}) {
    const config = loadConfig(h.directEnv(await h.writeContext(contextOverrides), h.workDir()));
    const logger = createLogger({ level: 'silent', name: 'test' });
    return runTask({ config, logger, ...apiClients(config) });
  }
  const firstSystemPrompt = () => {
    const system = (h.anthropic.received('/v1/messages')[0]?.json as MessagesRequest | undefined)?.system;
    return typeof system === 'string' ? system : JSON.stringify(system);
  };

  it("puts AGENTS.md, CONTRIBUTING.md and the detected test command in the coder's first request", async () => {
    h.anthropic.enqueue(...sampleFixScript());
    h.openai.enqueue(approve());
    const { result } = await run();
    expect(result.status).toBe('pr_opened');
    const system = firstSystemPrompt();
    expect(system).toContain('<repository_file path=\\"AGENTS.md\\">\\n# Agents\\nAlways run `node --test`');
    expect(system).toContain('<repository_file path=\\"CONTRIBUTING.md\\">');
    expect(system).toContain('- Tests: `npm test` (from package.json scripts.test)');
  });

  it("uses the routing entry's test_command instead", async () => {
    h.anthropic.requests.length = 0;
    h.anthropic.enqueue(...sampleFixScript());
    h.openai.enqueue(approve());
    await run({ test_command: 'node --test test/' });
    expect(firstSystemPrompt()).toContain("- Tests: `node --test test/` (from the routing entry's test_command)");
  });
});
