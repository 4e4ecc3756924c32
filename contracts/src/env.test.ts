import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, env, parseEnv } from './env.ts';

const Schema = z.object({
  LOG_LEVEL: env.logLevel,
  MAX_RETRIES: env.int(3, 1),
  ANTON_DEV: env.flag,
  JIRA_TRIGGER_STATUSES: env.list,
  JIRA_TRIGGER_LABEL: env.optional,
});

describe('parseEnv', () => {
  it('applies defaults and accepts the original INFO level', () => {
    expect(parseEnv(Schema, { LOG_LEVEL: 'INFO' })).toEqual({
      LOG_LEVEL: 'info',
      MAX_RETRIES: 3,
      ANTON_DEV: false,
      JIRA_TRIGGER_STATUSES: [],
      JIRA_TRIGGER_LABEL: undefined,
    });
  });

  it('parses lists, flags and numbers', () => {
    expect(
      parseEnv(Schema, {
        MAX_RETRIES: '5',
        ANTON_DEV: '1',
        JIRA_TRIGGER_STATUSES: 'To Do, Ready ',
        JIRA_TRIGGER_LABEL: '',
      }),
    ).toMatchObject({
      MAX_RETRIES: 5,
      ANTON_DEV: true,
      JIRA_TRIGGER_STATUSES: ['To Do', 'Ready'],
      JIRA_TRIGGER_LABEL: undefined,
    });
  });

  it('fails with one line naming the bad variable', () => {
    expect(() => parseEnv(Schema, { MAX_RETRIES: 'three' })).toThrow(ConfigError);
    expect(() => parseEnv(Schema, { MAX_RETRIES: '0' })).toThrow(/^invalid configuration: MAX_RETRIES: /);
    expect(() => parseEnv(Schema, { LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
