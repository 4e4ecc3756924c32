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

  it('holds undelivered reports for a minute unless REPORT_LEASE_MS says otherwise, never below 300 ms', () => {
    expect(loadConfig({}).reports.leaseMs).toBe(60_000);
    expect(loadConfig({ REPORT_LEASE_MS: '2000' }).reports.leaseMs).toBe(2_000);
    expect(() => loadConfig({ REPORT_LEASE_MS: '10' })).toThrow(/REPORT_LEASE_MS/);
  });
});
