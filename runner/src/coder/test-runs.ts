import type { ShellRecord } from '../tools/tool.ts';

/**
 * Commands that run a project's tests, across the toolchains the templates cover. Used only to
 * list "tests run" in the pull request, so a miss costs a line of description, nothing more.
 */
const TEST_COMMAND =
  /(^|[\s;&|(])(npm|pnpm|yarn|bun)\s+(run\s+)?test\b|\bnode\s+--test\b|\b(jest|vitest|mocha|ava|karma|pytest|tox|nox|rspec|phpunit|ctest)\b|\bpython[\d.]*\s+-m\s+(pytest|unittest)\b|\bgo\s+test\b|\bcargo\s+(test|nextest)\b|\b(mvn|mvnw|gradle|gradlew)\b[^;&|]*\b(test|verify|check)\b|\bmake\s+(test|check)\b|\bdotnet\s+test\b|\bbundle\s+exec\s+rake\s+test\b/;

export function looksLikeTestRun(command: string): boolean {
  return TEST_COMMAND.test(command);
}

export function testRuns(records: readonly ShellRecord[]): ShellRecord[] {
  return records.filter((r) => looksLikeTestRun(r.command));
}
