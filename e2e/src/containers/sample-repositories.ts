import { chown, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A small repository in one language, and the command that runs its tests inside a runner image. */
export interface SampleRepository {
  image: string;
  files: Record<string, string>;
  /** Runs in the repository (the container's /app/workspace), offline, as uid 10001. */
  test: string;
}

const javaSample: Record<string, string> = {
  'pom.xml': `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>sample</groupId>
  <artifactId>sample</artifactId>
  <version>0.1.0</version>
</project>
`,
  'src/main/java/sample/Price.java': `package sample;
public final class Price {
  private Price() {}
  public static long withTax(long cents, int percent) { return cents + cents * percent / 100; }
}
`,
  'src/test/java/sample/PriceTest.java': `package sample;
import static org.junit.Assert.assertEquals;
import org.junit.Test;
public class PriceTest {
  @Test public void addsTax() { assertEquals(1190, Price.withTax(1000, 19)); }
}
`,
};

/** One per runner image: each must run its language's tests with what the image holds. */
export const SAMPLES: Record<string, SampleRepository> = {
  // Every image: git, a C toolchain, make, curl; no ssh client (ssh URLs are refused).
  runner: {
    image: 'anton-runner',
    files: {
      Makefile: 'test: sum\n\t./sum 2 3 | grep -qx 5\nsum: sum.c\n\tcc -O2 -o sum sum.c\n',
      'sum.c':
        '#include <stdio.h>\n#include <stdlib.h>\nint main(int c, char **v) { (void)c; printf("%d\\n", atoi(v[1]) + atoi(v[2])); return 0; }\n',
    },
    test: [
      'set -eu',
      'git init -q . && git add -A && git -c user.name=t -c user.email=t@e commit -qm init',
      'make test',
      'curl --version >/dev/null',
      '! command -v ssh',
      'tr "\\0" " " </proc/1/cmdline | grep -q "^tini "',
    ].join('\n'),
  },
  'runner-node': {
    image: 'anton-runner-node',
    files: {
      'package.json': JSON.stringify({
        name: 'sample',
        private: true,
        type: 'module',
        scripts: { test: 'node --test' },
      }),
      'sum.test.js':
        "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\ntest('sums', () => assert.equal(2 + 3, 5));\n",
    },
    test: [
      'set -eu',
      'npm test',
      'pnpm --version >/dev/null && yarn --version >/dev/null && python3 --version >/dev/null',
      // npm's cache is on the cache volume, not in HOME=/tmp.
      'test "$(npm config get cache)" = /app/cache/npm',
    ].join('\n'),
  },
  'runner-python': {
    image: 'anton-runner-python',
    files: {
      'pyproject.toml': '[project]\nname = "sample"\nversion = "0.1.0"\n',
      'sample/__init__.py': 'def add(a, b):\n    return a + b\n',
      'tests/test_add.py': 'from sample import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n',
    },
    test: [
      'set -eu',
      // A venv on the cache volume, seeing Debian's pytest: the way an agent works offline.
      'python3 -m venv --system-site-packages /app/cache/venv',
      '/app/cache/venv/bin/python -m pytest -q -p no:cacheprovider',
      'test "$(/app/cache/venv/bin/pip cache dir)" = /app/cache/pip',
    ].join('\n'),
  },
  'runner-java': {
    image: 'anton-runner-java',
    files: javaSample,
    test: [
      'set -eu',
      'out=/app/cache/classes && mkdir -p "$out"',
      'cp=/usr/share/java/junit4.jar:/usr/share/java/hamcrest-core.jar',
      'javac -d "$out" -cp "$cp" $(find src -name "*.java")',
      'java -cp "$out:$cp" org.junit.runner.JUnitCore sample.PriceTest',
      // Maven runs offline as 10001 (validate binds no plugin), its local repository on the cache volume.
      'mvn -o -B -q validate',
      'grep -q "<localRepository>/app/cache/m2/repository</localRepository>" /etc/maven/settings.xml',
    ].join('\n'),
  },
};

/** Writes the sample into a fresh directory owned by 10001, as the Job's workspace volume is to the agent. */
export async function writeSample(sample: SampleRepository): Promise<{ workspace: string; cache: string }> {
  const root = await mkdtemp(join(tmpdir(), 'anton-image-check-'));
  const workspace = join(root, 'workspace');
  const cache = join(root, 'cache');
  await mkdir(workspace);
  await mkdir(cache);
  for (const [path, content] of Object.entries(sample.files)) {
    await mkdir(dirname(join(workspace, path)), { recursive: true });
    await writeFile(join(workspace, path), content);
  }
  await chownTree(root, [workspace, cache, ...Object.keys(sample.files).map((p) => join(workspace, p))]);
  return { workspace, cache };
}

async function chownTree(root: string, paths: string[]): Promise<void> {
  const dirs = new Set<string>();
  for (const path of paths) {
    for (let dir = dirname(path); dir.startsWith(root) && dir !== root; dir = dirname(dir)) dirs.add(dir);
  }
  for (const path of [...dirs, ...paths]) await chown(path, 10001, 10001);
}
