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
