import { ConfigError } from '@anton/contracts';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('configuration of the reporters', () => {
  it('reports nowhere when nothing is set', () => {
    expect(loadConfig({}).reporters).toEqual({ jira: undefined, datadog: undefined, incomplete: [] });
  });

  it('reads JIRA and Datadog, the Datadog API on its site unless DATADOG_API_URL says otherwise', () => {
    const config = loadConfig({
      JIRA_BASE_URL: 'https://acme.atlassian.net',
      JIRA_EMAIL: 'anton@acme.test',
      JIRA_API_TOKEN: 'atl-token',
      JIRA_DONE_LABEL: 'anton-pr',
      JIRA_TRANSITION: 'In Review',
      DATADOG_API_KEY: 'dd-key',
      DATADOG_SITE: 'datadoghq.eu',
    });
    expect(config.reporters).toEqual({
      jira: {
        baseUrl: 'https://acme.atlassian.net',
        email: 'anton@acme.test',
        apiToken: 'atl-token',
        doneLabel: 'anton-pr',
        transition: 'In Review',
      },
      datadog: { apiUrl: 'https://api.datadoghq.eu', apiKey: 'dd-key' },
      incomplete: [],
    });
    expect(loadConfig({ DATADOG_API_KEY: 'k', DATADOG_API_URL: 'http://127.0.0.1:9' }).reporters.datadog).toEqual({
      apiUrl: 'http://127.0.0.1:9',
      apiKey: 'k',
    });
  });

  it('leaves JIRA reporting off when a setting is missing, saying which (the secret may hold only the token)', () => {
    const tokenOnly = loadConfig({ JIRA_API_TOKEN: 'atl-token' }).reporters;
    expect(tokenOnly.jira).toBeUndefined();
    expect(tokenOnly.incomplete).toEqual(['JIRA reporting is off: JIRA_BASE_URL and JIRA_EMAIL are not set']);
    const noToken = loadConfig({
      JIRA_BASE_URL: 'https://acme.atlassian.net',
      JIRA_EMAIL: 'a@b.c',
      JIRA_API_TOKEN: '',
    });
    expect(noToken.reporters.incomplete).toEqual(['JIRA reporting is off: JIRA_API_TOKEN is not set']);
    expect(() => loadConfig({ JIRA_DONE_LABEL: 'has space' })).toThrow(/JIRA_DONE_LABEL: a JIRA label holds no spaces/);
  });
});

describe('configuration of the retries', () => {
  it('waits 10 s, 1 min, then 5 min unless RETRY_DELAYS says otherwise', () => {
    expect(loadConfig({}).rabbitmq.retrySteps).toEqual([10_000, 60_000, 300_000]);
    expect(loadConfig({ RETRY_DELAYS: '500ms, 2s,1h' }).rabbitmq.retrySteps).toEqual([500, 2000, 3_600_000]);
  });

  it('refuses delays it cannot read or that do not grow', () => {
    expect(() => loadConfig({ RETRY_DELAYS: '10s,soon' })).toThrow(/RETRY_DELAYS: "soon" is not a delay/);
    expect(() => loadConfig({ RETRY_DELAYS: '1m,10s' })).toThrow(/RETRY_DELAYS: the delays must grow/);
  });
});

describe('configuration of enrichment', () => {
  it('enriches from nothing when no credentials are set, with a 10 s budget per source', () => {
    expect(loadConfig({}).enrichment).toEqual({
      timeoutMs: 10_000,
      maxChars: 12_000,
      sonar: undefined,
      datadog: undefined,
      jira: undefined,
    });
  });

  it('reads each source from its own credentials', () => {
    const { enrichment } = loadConfig({
      SONAR_TOKEN: 'squ_t',
      DATADOG_API_KEY: 'api',
      DATADOG_APP_KEY: 'app',
      DATADOG_SITE: 'datadoghq.eu',
      JIRA_BASE_URL: 'https://acme.atlassian.net',
      JIRA_EMAIL: 'bot@acme.test',
      JIRA_API_TOKEN: 'atl',
    });
    expect(enrichment.sonar).toEqual({ baseUrl: 'https://sonarcloud.io', token: 'squ_t', issueLimit: 50 });
    expect(enrichment.datadog).toEqual({ apiUrl: 'https://api.datadoghq.eu', apiKey: 'api', appKey: 'app' });
    expect(enrichment.jira).toEqual({
      baseUrl: 'https://acme.atlassian.net',
      authorization: `Basic ${Buffer.from('bot@acme.test:atl').toString('base64')}`,
    });
  });

  it('needs the application key for Datadog, takes a Bearer token for JIRA Data Center, refuses a non-http SONAR_URL', () => {
    expect(loadConfig({ DATADOG_API_KEY: 'api' }).enrichment.datadog).toBeUndefined();
    const bearer = loadConfig({
      JIRA_BASE_URL: 'https://jira.acme.test',
      JIRA_EMAIL: 'bot',
      JIRA_API_TOKEN: 'pat',
      JIRA_AUTH: 'bearer',
    });
    expect(bearer.enrichment.jira?.authorization).toBe('Bearer pat');
    expect(bearer.reporters.jira?.authorization).toBe('Bearer pat');
    expect(() => loadConfig({ SONAR_URL: 'file:///etc/passwd' })).toThrow(/SONAR_URL/);
  });
});

describe('configuration of the GitHub host', () => {
  it('clones only from the git host of GITHUB_API_URL, unless GITHUB_GIT_URL names it', () => {
    expect(loadConfig({}).gitOrigin).toBe('https://github.com');
    expect(loadConfig({ GITHUB_API_URL: 'https://ghe.acme.example/api/v3' }).gitOrigin).toBe(
      'https://ghe.acme.example',
    );
    const tests = loadConfig({ GITHUB_API_URL: 'http://127.0.0.1:4010', GITHUB_GIT_URL: 'http://127.0.0.1:4020/' });
    expect(tests.gitOrigin).toBe('http://127.0.0.1:4020');
    expect(tests.upstreams).toMatchObject({ GITHUB_GIT_URL: 'http://127.0.0.1:4020/' });
  });

  it('refuses a GitHub URL the token would travel to in the clear', () => {
    expect(() => loadConfig({ GITHUB_API_URL: 'http://ghe.acme.example/api/v3' })).toThrow(
      new ConfigError('invalid configuration: GITHUB_API_URL: must be https (plain http only to a loopback address)'),
    );
    expect(() => loadConfig({ GITHUB_GIT_URL: 'http://github.com' })).toThrow(/GITHUB_GIT_URL: must be https/);
  });
});

describe('configuration of the agent images', () => {
  it("names each template's toolchain image after AGENT_IMAGE: its repository with the kind, at its tag", () => {
    expect(loadConfig({ AGENT_IMAGE: 'registry.example:5000/anton/anton-runner:1.2.3' }).kubernetes.images).toEqual({
      runner: 'registry.example:5000/anton/anton-runner:1.2.3',
      agents: {
        'react-frontend': 'registry.example:5000/anton/anton-runner-node:1.2.3',
        'python-backend': 'registry.example:5000/anton/anton-runner-python:1.2.3',
        'java-backend': 'registry.example:5000/anton/anton-runner-java:1.2.3',
        'general-research': 'registry.example:5000/anton/anton-runner:1.2.3',
      },
    });
    expect(loadConfig({}).kubernetes.images.agents['java-backend']).toBe('anton-runner-java:latest');
    expect(
      loadConfig({ AGENT_IMAGE: 'registry.example:5000/anton-runner' }).kubernetes.images.agents['python-backend'],
    ).toBe('registry.example:5000/anton-runner-python');
  });

  it('lets AGENT_IMAGE_<TEMPLATE> override one template', () => {
    const { agents } = loadConfig({ AGENT_IMAGE_PYTHON_BACKEND: 'python-tools:3.12' }).kubernetes.images;
    expect(agents['python-backend']).toBe('python-tools:3.12');
    expect(agents['java-backend']).toBe('anton-runner-java:latest');
  });

  it('wants every toolchain image named when AGENT_IMAGE is pinned by digest', () => {
    const pinned = `anton-runner@sha256:${'a'.repeat(64)}`;
    expect(() => loadConfig({ AGENT_IMAGE: pinned })).toThrow(
      /AGENT_IMAGE_REACT_FRONTEND: required when AGENT_IMAGE is pinned by digest/,
    );
    const config = loadConfig({
      AGENT_IMAGE: pinned,
      AGENT_IMAGE_REACT_FRONTEND: `anton-runner-node@sha256:${'b'.repeat(64)}`,
      AGENT_IMAGE_PYTHON_BACKEND: `anton-runner-python@sha256:${'c'.repeat(64)}`,
      AGENT_IMAGE_JAVA_BACKEND: `anton-runner-java@sha256:${'d'.repeat(64)}`,
    });
    expect(config.kubernetes.images.agents['general-research']).toBe(pinned);
    expect(() => loadConfig({ AGENT_IMAGE_JAVA_BACKEND: 'not an image' })).toThrow(ConfigError);
  });
});
