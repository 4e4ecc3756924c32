import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('createLogger', () => {
  it('writes JSON lines with task_id on every line and redacts credentials by path', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'info', taskId: 'task-1', name: 'test' }, sink);
    logger.info({ anthropic: { apiKey: 'sk-ant-secret' }, headers: { authorization: 'Bearer x' } }, 'one');
    logger.child({ turn: 2 }).warn({ remoteEnv: { GIT_CONFIG_VALUE_0: 'Authorization: Basic abc' } }, 'two');
    const parsed = lines.map((line) => JSON.parse(line));
    expect(parsed.map((p) => p.task_id)).toEqual(['task-1', 'task-1']);
    expect(parsed[0]).toMatchObject({ level: 'info', msg: 'one', anthropic: { apiKey: '[redacted]' } });
    expect(lines.join('')).not.toMatch(/sk-ant-secret|Bearer x|Basic abc/);
  });
});
