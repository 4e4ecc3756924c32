import { defineConfig } from 'vitest/config';

// One run over every package. Workspace packages resolve to their TypeScript sources through the
// "source" export condition, so tests need no build. The chaos suite runs only when asked for
// (`pnpm test:chaos`): it restarts the shared broker and takes minutes.
const packages = ['contracts', 'testing', 'ingester', 'orchestrator', 'runner'];
const chaos = process.argv.some((arg) => arg === 'chaos' || arg === '--project=chaos');

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      ...packages.map((name) => ({
        extends: true as const,
        test: { name, root: name, include: ['src/**/*.test.ts', 'test/**/*.test.ts'] },
      })),
      { extends: true as const, test: { name: 'e2e', root: 'e2e', include: ['src/**/*.test.ts'] } },
      ...(chaos
        ? [
            {
              extends: true as const,
              test: { name: 'chaos', root: 'e2e', include: ['chaos/**/*.test.ts'], fileParallelism: false },
            },
          ]
        : []),
    ],
  },
});
