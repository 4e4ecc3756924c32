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
