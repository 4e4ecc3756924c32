import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { openTaskChannel } from './task-channel.ts';

// The real broker behind it is exercised by each service's tests (a reset in the middle of this
// setup, a channel closed under a live connection); these pin the order and the hand-offs.
class StubChannel extends EventEmitter {
  readonly declared: string[] = [];
  assertExchange = async (name: string) => void this.declared.push(`exchange ${name}`);
  assertQueue = async (name: string) => void this.declared.push(`queue ${name}`);
  bindQueue = async (queue: string, exchange: string) => void this.declared.push(`bind ${queue} ${exchange}`);
}

class StubConnection extends EventEmitter {
  readonly channel = new StubChannel();
  errorListenersAtCreate = -1;
  closed = 0;
  async createConfirmChannel() {
    this.errorListenersAtCreate = this.listenerCount('error');
    return this.channel;
  }
  async close() {
    this.closed += 1;
  }
}

describe('openTaskChannel', () => {
  it('listens for connection errors before anything can fail, then declares the task topology', async () => {
    const connection = new StubConnection();
    const channel = await openTaskChannel(connection, { onError: () => undefined, onClose: () => false });
    expect(channel).toBe(connection.channel);
    expect(connection.errorListenersAtCreate).toBe(1);
    expect(() => connection.emit('error', new Error('read ECONNRESET'))).not.toThrow();
    expect(channel.declared).toContain('bind orchestrator_queue agent_events');
  });

  it('hands channel errors to the owner, and drops the connection on a close only when the owner says so', async () => {
    const connection = new StubConnection();
    const errors: unknown[] = [];
    let wanted = false;
    const channel = await openTaskChannel(connection, {
      onError: (err) => errors.push(err),
      onClose: (closed) => closed === connection.channel && wanted,
    });
    channel.emit('error', new Error('404 NOT_FOUND'));
    expect(errors).toHaveLength(1);
    channel.emit('close');
    expect(connection.closed).toBe(0);
    wanted = true;
    channel.emit('close');
    expect(connection.closed).toBe(1);
  });
});
