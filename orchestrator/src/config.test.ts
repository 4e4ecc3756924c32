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
