import { describe, expect, it } from 'vitest';
import { DEV_WEBHOOK_SECRET, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig({ WEBHOOK_SECRET: 'shared' })).toEqual({
      devSecret: false,
      secrets: { jira: 'shared', datadog: 'shared', sonarcloud: 'shared' },
      sharedSecretSources: [],
      jira: { triggerLabel: undefined, triggerStatuses: [] },
      maxBodyBytes: 1024 * 1024,
      rabbitmqUrl: 'amqp://guest:guest@127.0.0.1:5672',
      publishTimeoutMs: 5000,
      port: 8000,
      metricsPort: 9090,
      host: '0.0.0.0',
      logLevel: 'info',
    });
  });

  it('needs no WEBHOOK_SECRET when every source has its own (the deploy files do so)', () => {
    const config = loadConfig({ JIRA_WEBHOOK_SECRET: 'j', DATADOG_WEBHOOK_SECRET: 'd', SONAR_WEBHOOK_SECRET: 's' });
    expect(config.secrets).toEqual({ jira: 'j', datadog: 'd', sonarcloud: 's' });
    expect(config.devSecret).toBe(false);
  });

  it('still needs WEBHOOK_SECRET for a source without its own, naming which', () => {
    expect(() => loadConfig({ JIRA_WEBHOOK_SECRET: 'j', SONAR_WEBHOOK_SECRET: 's' })).toThrow(
      'WEBHOOK_SECRET: required for the sources without their own secret (DATADOG_WEBHOOK_SECRET unset)',
    );
  });

  it('takes the shared-secret header on JIRA or Sonar only when SHARED_SECRET_ROUTES names them', () => {
    expect(loadConfig({ WEBHOOK_SECRET: 's', SHARED_SECRET_ROUTES: 'jira, sonar' }).sharedSecretSources).toEqual([
      'jira',
      'sonarcloud',
    ]);
    expect(() => loadConfig({ WEBHOOK_SECRET: 's', SHARED_SECRET_ROUTES: 'datadog' })).toThrow(/SHARED_SECRET_ROUTES/);
  });

  it('lets each source have its own secret and reads the trigger settings', () => {
    const config = loadConfig({
      WEBHOOK_SECRET: 'shared',
      JIRA_WEBHOOK_SECRET: 'j',
      SONAR_WEBHOOK_SECRET: 's',
      DATADOG_WEBHOOK_SECRET: '',
      JIRA_TRIGGER_LABEL: 'anton',
      JIRA_TRIGGER_STATUSES: 'Ready for AI, Selected for Development',
      LOG_LEVEL: 'INFO',
    });
    expect(config.secrets).toEqual({ jira: 'j', datadog: 'shared', sonarcloud: 's' });
    expect(config.jira).toEqual({
      triggerLabel: 'anton',
      triggerStatuses: ['Ready for AI', 'Selected for Development'],
    });
    expect(config.logLevel).toBe('info');
  });

  it('refuses to start without WEBHOOK_SECRET, naming it, unless ANTON_DEV=1', () => {
    expect(() => loadConfig({})).toThrow(/^invalid configuration: WEBHOOK_SECRET: required/);
    expect(() => loadConfig({ WEBHOOK_SECRET: '' })).toThrow(/WEBHOOK_SECRET/);
    const dev = loadConfig({ ANTON_DEV: '1' });
    expect(dev.devSecret).toBe(true);
    expect(dev.secrets.jira).toBe(DEV_WEBHOOK_SECRET);
  });

  it.each([
    ['MAX_BODY_BYTES', 'lots'],
    ['PORT', '70000'],
    ['RABBITMQ_URL', 'http://broker:5672'],
    ['PUBLISH_TIMEOUT_MS', '0'],
    ['LOG_LEVEL', 'loud'],
  ])('names the bad variable %s', (name, value) => {
    expect(() => loadConfig({ WEBHOOK_SECRET: 'x', [name]: value })).toThrow(new RegExp(`: ${name}: `));
  });
});
