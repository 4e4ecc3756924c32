import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRoutingConfig, parseRoutingConfig, RoutingConfigError } from './routing-config.ts';

const valid = `# repositories anton may fix
repositories:
  - url: https://github.com/acme/orders.git
    base_branch: release/2.x
    jira_projects: [ORD, SHOP]
    datadog_services: [orders-api]
    sonar_projects: [acme_orders]
    template: java-backend
    languages: [java]
    instructions: Run mvn -q test before submitting.
  - url: git@github.com:acme/web.git
    datadog_services: [web]
`;

function errorOf(text: string): string {
  try {
    parseRoutingConfig(text, 'routing.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(RoutingConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the routing config to be rejected');
}

describe('parseRoutingConfig', () => {
  it('parses entries and applies defaults', () => {
    expect(parseRoutingConfig(valid)).toEqual({
      repositories: [
        {
          url: 'https://github.com/acme/orders.git',
          base_branch: 'release/2.x',
          jira_projects: ['ORD', 'SHOP'],
          datadog_services: ['orders-api'],
          sonar_projects: ['acme_orders'],
          template: 'java-backend',
          languages: ['java'],
          instructions: 'Run mvn -q test before submitting.',
        },
        {
          url: 'git@github.com:acme/web.git',
          base_branch: 'main',
          jira_projects: [],
          datadog_services: ['web'],
          sonar_projects: [],
          languages: [],
        },
      ],
    });
  });

  it('accepts an empty file as an empty map', () => {
    expect(parseRoutingConfig('')).toEqual({ repositories: [] });
  });

  it('names the line of a bad value', () => {
    const text = valid.replace('https://github.com/acme/orders.git', '"--upload-pack=evil"');
    expect(errorOf(text)).toMatch(/^routing\.yaml:3: repositories\.0\.url: must be an http\(s\), ssh/);
  });

  it('refuses a repository the runner cannot reach through its proxy', () => {
    const text = valid.replace('git@github.com:acme/web.git', 'file:///srv/git/web.git');
    expect(errorOf(text)).toBe(
      'routing.yaml:11: repositories.1.url: must be an https URL, or an ssh form of one (git@host:owner/repo.git)',
    );
  });

  it('names the line of an unknown template in the second entry', () => {
    const text = `${valid}    template: cobol-mainframe\n`;
    expect(errorOf(text)).toMatch(/^routing\.yaml:13: repositories\.1\.template: Invalid option/);
  });

  it("reports a missing key on its entry's line", () => {
    const text = 'repositories:\n  - jira_projects: [ORD]\n';
    expect(errorOf(text)).toMatch(/^routing\.yaml:2: repositories\.0\.url: /);
  });

  it('rejects unknown keys, which are usually typos', () => {
    const text = valid.replace('jira_projects:', 'jira_project:');
    expect(errorOf(text)).toMatch(/^routing\.yaml:3: repositories\.0: Unrecognized key: "jira_project"/);
  });

  it('names the line of a YAML syntax error', () => {
    expect(errorOf('repositories:\n  - url: [unclosed\n')).toMatch(/^routing\.yaml:\d+: /);
    expect(errorOf('repositories:\n  - url: a\n    url: b\n')).toMatch(/^routing\.yaml:3: .*unique/i);
  });

  it('rejects a key mapped to two repositories, naming both lines', () => {
    const text = `${valid}    jira_projects: [SHOP]\n`;
    expect(errorOf(text)).toBe('routing.yaml:13: jira_projects "SHOP" is already mapped on line 5');
  });
});

describe('loadRoutingConfig', () => {
  it('reads the file, or gives an empty map when none is configured', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'routing-'));
    try {
      const file = join(dir, 'routing.yaml');
      await writeFile(file, valid);
      expect((await loadRoutingConfig(file)).repositories).toHaveLength(2);
      expect(await loadRoutingConfig(undefined)).toEqual({ repositories: [] });
      await expect(loadRoutingConfig(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
