/**
 * What the coder learns from the repository itself before its first turn: the maintainers'
 * instruction files and the commands that run the tests and the linter. Read from the base commit
 * in the runner's private git (see Workspace.readBaseFile): regular files only, so a symlink in
 * the repository is never followed out of it, and nothing the agent writes later changes it.
 */

/** Reads one file of the base commit: its text, or undefined when it is absent or not a regular file. */
export type BaseFileReader = (path: string) => Promise<string | undefined>;

/** The instruction files read, in this order, whichever exist at the repository root. */
export const INSTRUCTION_FILES = ['AGENTS.md', 'CLAUDE.md', '.github/copilot-instructions.md', 'CONTRIBUTING.md'];

/** Each file is cut to this many characters, head and tail kept: the system prompt is paid on every call. */
export const INSTRUCTION_FILE_CHARS = 8_000;

/** The files the commands are detected from. */
const BUILD_FILES = [
  'package.json',
  'pnpm-lock.yaml',
  'yarn.lock',
  'Makefile',
  'pyproject.toml',
  'pytest.ini',
  'tox.ini',
  'setup.cfg',
  'pom.xml',
  'build.gradle',
  'build.gradle.kts',
  'gradlew',
] as const;

export interface DetectedCommand {
  command: string;
  /** Where it comes from, told to the model ("package.json scripts.test", "the routing entry"). */
  from: string;
}

export interface RepositoryGuide {
  instructions: { file: string; text: string }[];
  test?: DetectedCommand | undefined;
  lint?: DetectedCommand | undefined;
}

/** Head and tail kept: a stack trace's last lines, or a file's last section, say as much as its first. */
export function cutHeadTail(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n[… ${text.length - 2 * half} more characters not shown …]\n${text.slice(-half)}`;
}

/** The guide of the repository; `testCommand` (a routing entry's) overrides the detected one. */
export async function readRepositoryGuide(
  read: BaseFileReader,
  { testCommand }: { testCommand?: string | undefined } = {},
): Promise<RepositoryGuide> {
  const instructions: RepositoryGuide['instructions'] = [];
  for (const file of INSTRUCTION_FILES) {
    const text = await read(file);
    if (text !== undefined && text.trim() !== '') {
      instructions.push({ file, text: cutHeadTail(text.trim(), INSTRUCTION_FILE_CHARS) });
    }
  }
  const files: BuildFiles = {};
  for (const file of BUILD_FILES) {
    const text = await read(file);
    if (text !== undefined) files[file] = text;
  }
  const detected = detectCommands(files);
  return {
    instructions,
    test: testCommand ? { command: testCommand, from: "the routing entry's test_command" } : detected.test,
    lint: detected.lint,
  };
}

export type BuildFiles = Partial<Record<(typeof BUILD_FILES)[number], string>>;

/** npm's placeholder for a project without tests. */
const NPM_NO_TEST = /no test specified/;

/** The test and lint commands a maintainer would run, by ecosystem, first match wins. */
export function detectCommands(files: BuildFiles): { test?: DetectedCommand; lint?: DetectedCommand } {
  const result: { test?: DetectedCommand; lint?: DetectedCommand } = {};
  const scripts = packageScripts(files['package.json']);
  const npm = files['pnpm-lock.yaml'] !== undefined ? 'pnpm' : files['yarn.lock'] !== undefined ? 'yarn' : 'npm';
  if (scripts.test && !NPM_NO_TEST.test(scripts.test)) {
    result.test = { command: `${npm} test`, from: 'package.json scripts.test' };
  }
  if (scripts.lint) result.lint = { command: `${npm} run lint`, from: 'package.json scripts.lint' };
  const make = files.Makefile;
  if (make !== undefined) {
    if (!result.test && makeTarget(make, 'test')) result.test = { command: 'make test', from: 'the Makefile' };
    if (!result.lint && makeTarget(make, 'lint')) result.lint = { command: 'make lint', from: 'the Makefile' };
  }
  result.test ??= pythonTests(files) ?? jvmTests(files);
  return result;
}

function packageScripts(text: string | undefined): Record<string, string> {
  if (text === undefined) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    const scripts = (parsed as { scripts?: unknown } | null)?.scripts;
    if (typeof scripts !== 'object' || scripts === null) return {};
    return Object.fromEntries(Object.entries(scripts).filter(([, value]) => typeof value === 'string'));
  } catch {
    return {};
  }
}

function makeTarget(makefile: string, target: string): boolean {
  return new RegExp(`^${target}\\s*:(?!=)`, 'm').test(makefile);
}

function pythonTests(files: BuildFiles): DetectedCommand | undefined {
  if (files['pytest.ini'] !== undefined) return { command: 'python -m pytest', from: 'pytest.ini' };
  const pyproject = files['pyproject.toml'];
  if (pyproject !== undefined && /^\[tool\.pytest/m.test(pyproject)) {
    return { command: 'python -m pytest', from: 'pyproject.toml [tool.pytest.ini_options]' };
  }
  const tox = files['tox.ini'];
  if (tox !== undefined && /^\[pytest\]/m.test(tox)) return { command: 'python -m pytest', from: 'tox.ini [pytest]' };
  if (files['setup.cfg'] !== undefined && /^\[tool:pytest\]/m.test(files['setup.cfg'])) {
    return { command: 'python -m pytest', from: 'setup.cfg [tool:pytest]' };
  }
  if (tox !== undefined && /^\[tox\]/m.test(tox)) return { command: 'tox', from: 'tox.ini' };
  if (pyproject !== undefined && /pytest/.test(pyproject))
    return { command: 'python -m pytest', from: 'pyproject.toml' };
  return undefined;
}

function jvmTests(files: BuildFiles): DetectedCommand | undefined {
  if (files['pom.xml'] !== undefined) return { command: 'mvn -q test', from: 'pom.xml' };
  const gradle =
    files['build.gradle'] !== undefined
      ? 'build.gradle'
      : files['build.gradle.kts'] !== undefined
        ? 'build.gradle.kts'
        : undefined;
  if (gradle) return { command: files.gradlew !== undefined ? './gradlew test' : 'gradle test', from: gradle };
  return undefined;
}
