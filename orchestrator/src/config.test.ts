import { ConfigError } from '@anton/contracts';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('configuration of the reporters', () => {
  it('reports nowhere when nothing is set', () => {
    expect(loadConfig({}).reporters).toEqual({ jira: undefined, datadog: undefined });
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
    });
    expect(loadConfig({ DATADOG_API_KEY: 'k', DATADOG_API_URL: 'http://127.0.0.1:9' }).reporters.datadog).toEqual({
      apiUrl: 'http://127.0.0.1:9',
      apiKey: 'k',
    });
  });

  it('refuses half a JIRA configuration, naming what is missing', () => {
    expect(() => loadConfig({ JIRA_BASE_URL: 'https://acme.atlassian.net', JIRA_EMAIL: 'a@b.c' })).toThrow(
      new ConfigError('invalid configuration: JIRA_API_TOKEN: required with JIRA_BASE_URL and JIRA_EMAIL'),
    );
    expect(() => loadConfig({ JIRA_DONE_LABEL: 'has space' })).toThrow(/JIRA_DONE_LABEL: a JIRA label holds no spaces/);
  });

  it('holds undelivered reports for a minute unless REPORT_LEASE_MS says otherwise, never below 300 ms', () => {
    expect(loadConfig({}).reports.leaseMs).toBe(60_000);
    expect(loadConfig({ REPORT_LEASE_MS: '2000' }).reports.leaseMs).toBe(2_000);
    expect(() => loadConfig({ REPORT_LEASE_MS: '10' })).toThrow(/REPORT_LEASE_MS/);
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
