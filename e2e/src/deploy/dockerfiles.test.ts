import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// What can be read off the Dockerfiles; .ci/images builds and runs them.
const root = resolve(import.meta.dirname, '../../..');
const nodeVersion = readFileSync(join(root, '.nvmrc'), 'utf8').trim();
const dockerfiles = ['ingester/Dockerfile', 'orchestrator/Dockerfile', 'runner/Dockerfile'].map(
  (path) => [path, readFileSync(join(root, path), 'utf8')] as const,
);

/** Each stage's lines, by its name (or its index when unnamed). */
function stages(text: string): { from: string; lines: string[] }[] {
  const result: { from: string; lines: string[] }[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('FROM ')) result.push({ from: line, lines: [] });
    else result.at(-1)?.lines.push(line);
  }
  return result;
}

describe.each(dockerfiles)('%s', (_path, text) => {
  it("builds on Node at .nvmrc's version and needs no registry for its syntax", () => {
    expect(text).not.toMatch(/^#\s*syntax=/m);
    for (const match of text.matchAll(/^FROM (node:\S+)/gm)) expect(match[1]).toBe(`node:${nodeVersion}-bookworm-slim`);
  });

  it('installs from manifests and lockfile before any source is copied', () => {
    const install = text.indexOf('pnpm install --frozen-lockfile');
    expect(install).toBeGreaterThan(text.indexOf('COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./'));
    const firstSource = text.search(/^COPY (?!\S+\/package\.json)(?!package\.json)\S+\/ /m);
    expect(firstSource).toBeGreaterThan(install);
  });

  it('runs every image stage as 10001 under tini', () => {
    for (const stage of stages(text).filter((s) => !s.from.endsWith(' AS build'))) {
      const users = stage.lines.filter((l) => l.startsWith('USER '));
      // A stage that sets no user inherits its parent's (the default targets are `FROM <stage>`).
      if (users.length > 0) expect(users.at(-1)).toBe('USER 10001:10001');
    }
    expect(text).toMatch(/^ENTRYPOINT \["tini", "--"\]$/m);
    expect(text).toMatch(/apt-get install --yes --no-install-recommends[\s\\]*tini\b/);
  });

  it('hands the CA bundle to the registry steps as a secret, never a COPY', () => {
    for (const line of text.split('\n').filter((l) => /npm install|pnpm install|deploy --legacy/.test(l))) {
      const step = text.slice(text.lastIndexOf('RUN', text.indexOf(line)), text.indexOf(line));
      expect(`${step}${line}`).toMatch(/--mount=type=secret,id=ca|NODE_EXTRA_CA_CERTS=\/run\/secrets\/ca/);
    }
    expect(text).not.toMatch(/^(COPY|ADD) .*(ca-certificates|\.crt|\.pem)/m);
  });
});

describe('runner/Dockerfile', () => {
  const text = readFileSync(join(root, 'runner/Dockerfile'), 'utf8');
  it('builds one image per kind of repository, each stage from the common runner stage', () => {
    for (const target of ['runner-node', 'runner-python', 'runner-java']) {
      expect(text).toMatch(new RegExp(`^FROM runner AS ${target}$`, 'm'));
    }
    expect(text).not.toMatch(/openssh-client/);
  });
});
