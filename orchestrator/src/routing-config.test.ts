import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRoutingConfig, parseRoutingConfig, RoutingConfigError } from './routing-config.ts';

const valid = `# repositories anton may fix
allowed_repositories: [github.com/acme/*, github.com/platform/tools]
repositories:
  - url: https://github.com/acme/orders.git
    base_branch: release/2.x
    jira_projects: [ORD, SHOP]
    datadog_services: [orders-api]
    sonar_projects: [acme_orders]
    template: java-backend
    languages: [java]
    instructions: Run mvn -q test before submitting.
  - url: https://github.com/acme/web
    datadog_services: [web]
`;

function errorOf(text: string, gitOrigin = 'https://github.com'): string {
  try {
    parseRoutingConfig(text, { file: 'routing.yaml', gitOrigin });
  } catch (err) {
    expect(err).toBeInstanceOf(RoutingConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the routing config to be rejected');
}

describe('parseRoutingConfig', () => {
  it("passes an entry's test_command on", () => {
    const text = 'repositories:\n  - url: https://github.com/acme/orders.git\n    test_command: mvn -q -pl core test\n';
    expect(parseRoutingConfig(text).repositories[0]?.test_command).toBe('mvn -q -pl core test');
    expect(errorOf(text.replace('mvn -q -pl core test', "''"))).toMatch(
      /routing\.yaml:3: repositories\.0\.test_command: /,
    );
  });

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
          url: 'https://github.com/acme/web',
          base_branch: 'main',
          jira_projects: [],
          datadog_services: ['web'],
          sonar_projects: [],
          languages: [],
        },
      ],
      allowed_repositories: [
        { owner: 'github.com/acme/', repo: undefined },
        { owner: 'github.com/platform/', repo: 'tools' },
      ],
      gitOrigin: 'https://github.com',
    });
  });

  it('accepts an empty file as an empty map', () => {
    expect(parseRoutingConfig('')).toEqual({
      repositories: [],
      allowed_repositories: [],
      gitOrigin: 'https://github.com',
    });
  });

  it('names the line of a bad value', () => {
    const text = valid.replace('https://github.com/acme/orders.git', '"--upload-pack=evil"');
    expect(errorOf(text)).toBe('routing.yaml:4: repositories.0.url: not a URL: --upload-pack=evil');
  });

  it('refuses a repository the runner cannot reach through its proxy', () => {
    const text = valid.replace('https://github.com/acme/web', 'file:///srv/git/web.git');
    expect(errorOf(text)).toBe(
      'routing.yaml:12: repositories.1.url: must be an https URL on github.com: file:///srv/git/web.git',
    );
  });

  // The image clones over https through the credential proxy: an ssh URL would only fail in the Job.
  it.each(['git@github.com:acme/web.git', 'ssh://git@github.com/acme/web.git'])(
    'refuses %s at once, naming its line',
    (url) => {
      expect(errorOf(valid.replace('https://github.com/acme/web', url))).toBe(
        'routing.yaml:12: repositories.1.url: ssh URLs are not supported: the runner clones over https through its credential proxy (write https://github.com/<owner>/<repo>.git)',
      );
    },
  );

  it('allows repositories only on the configured GitHub git host, over https', () => {
    expect(errorOf(valid.replace('https://github.com/acme/web', 'https://evil.example/acme/web'))).toBe(
      'routing.yaml:12: repositories.1.url: evil.example is not the configured GitHub git host github.com (GITHUB_API_URL, GITHUB_GIT_URL)',
    );
    expect(errorOf(valid.replace('https://github.com/acme/web', 'http://github.com/acme/web'))).toBe(
      'routing.yaml:12: repositories.1.url: must be https: http://github.com/acme/web',
    );
    expect(errorOf(valid.replace('https://github.com/acme/web', 'https://github.com/acme/web/tree/main'))).toMatch(
      /^routing\.yaml:12: repositories\.1\.url: must name one repository as \/<owner>\/<repo>/,
    );
    expect(errorOf(valid.replace('https://github.com/acme/web', 'https://x:ghp_1@github.com/acme/web'))).toBe(
      'routing.yaml:12: repositories.1.url: must not hold credentials',
    );
    // GitHub Enterprise: the host of GITHUB_API_URL's https://ghe.acme.example/api/v3.
    const ghes = parseRoutingConfig('repositories:\n  - url: https://ghe.acme.example/acme/web.git\n', {
      gitOrigin: 'https://ghe.acme.example',
    });
    expect(ghes.repositories[0]?.url).toBe('https://ghe.acme.example/acme/web.git');
    expect(errorOf(valid, 'https://ghe.acme.example')).toMatch(
      /^routing\.yaml:4: repositories\.0\.url: github\.com is not/,
    );
  });

  it('takes allowed_repositories as host/owner/* or host/owner/repo on the git host, nothing wider', () => {
    const withPattern = (pattern: string) => `allowed_repositories:\n  - ${pattern}\n`;
    expect(errorOf(withPattern('github.com/*'))).toBe(
      'routing.yaml:2: allowed_repositories.0: must be github.com/<owner>/* or github.com/<owner>/<repo>: github.com/*',
    );
    expect(errorOf(withPattern('https://github.com/acme/*'))).toMatch(
      /^routing\.yaml:2: allowed_repositories\.0: must be/,
    );
    expect(errorOf(withPattern('evil.example/acme/*'))).toBe(
      'routing.yaml:2: allowed_repositories.0: evil.example is not the configured GitHub git host github.com (GITHUB_API_URL, GITHUB_GIT_URL)',
    );
  });

  it('names the line of an unknown template in the second entry', () => {
    const text = `${valid}    template: cobol-mainframe\n`;
    expect(errorOf(text)).toMatch(/^routing\.yaml:14: repositories\.1\.template: Invalid option/);
  });

  it("reports a missing key on its entry's line", () => {
    const text = 'repositories:\n  - jira_projects: [ORD]\n';
    expect(errorOf(text)).toMatch(/^routing\.yaml:2: repositories\.0\.url: /);
  });

  it('rejects unknown keys, which are usually typos', () => {
    const text = valid.replace('jira_projects:', 'jira_project:');
    expect(errorOf(text)).toMatch(/^routing\.yaml:4: repositories\.0: Unrecognized key: "jira_project"/);
  });

  it('names the line of a YAML syntax error', () => {
    expect(errorOf('repositories:\n  - url: [unclosed\n')).toMatch(/^routing\.yaml:\d+: /);
    expect(errorOf('repositories:\n  - url: a\n    url: b\n')).toMatch(/^routing\.yaml:3: .*unique/i);
  });

  it('rejects a key mapped to two repositories, naming both lines', () => {
    const text = `${valid}    jira_projects: [SHOP]\n`;
    expect(errorOf(text)).toBe('routing.yaml:14: jira_projects "SHOP" is already mapped on line 6');
  });
});

describe('loadRoutingConfig', () => {
  it('reads the file, or gives an empty map when none is configured', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'routing-'));
    try {
      const file = join(dir, 'routing.yaml');
      await writeFile(file, valid);
      expect((await loadRoutingConfig(file, 'https://github.com')).repositories).toHaveLength(2);
      expect(await loadRoutingConfig(undefined, 'https://github.com')).toEqual({
        repositories: [],
        allowed_repositories: [],
        gitOrigin: 'https://github.com',
      });
      await expect(loadRoutingConfig(join(dir, 'missing.yaml'), 'https://github.com')).rejects.toThrow(/cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
