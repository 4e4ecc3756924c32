import { describe, expect, it } from 'vitest';
import { looksLikeTestRun } from './test-runs.ts';

describe('looksLikeTestRun', () => {
  it.each([
    'node --test',
    'npm test',
    'pnpm run test -- --filter x',
    'cd api && pytest -q tests/test_orders.py',
    'python3 -m pytest',
    'go test ./...',
    'cargo test',
    './mvnw -q test',
    'mvn -pl core verify',
    './gradlew check',
    'npx vitest run src/a.test.ts',
    'make test',
  ])('%s is a test run', (command) => {
    expect(looksLikeTestRun(command)).toBe(true);
  });

  it.each(['ls -la', 'cat test/pricing.test.js', 'grep -rn test src', 'git status'])('%s is not', (command) => {
    expect(looksLikeTestRun(command)).toBe(false);
  });
});
