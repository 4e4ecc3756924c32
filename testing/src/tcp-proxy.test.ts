import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';
import { waitFor } from './wait-for.ts';

let echo: Server;
let proxy: TcpProxy;
/** Everything the echo server was sent, through any connection. */
let arrived = '';
const clients: Socket[] = [];

beforeAll(async () => {
  echo = createServer((socket) => {
    socket
      .on('error', () => undefined)
      .on('data', (chunk) => {
        arrived += chunk.toString();
      });
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const address = echo.address();
  if (!address || typeof address !== 'object') throw new Error('no echo address');
  proxy = await startTcpProxy({ host: '127.0.0.1', port: address.port });
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await proxy.restore();
});
afterAll(async () => {
  await proxy.close();
  await new Promise((resolve) => echo.close(resolve));
});

/** A client through the proxy that collects everything echoed back and how it ended. */
async function open() {
  const socket = connect(proxy.port, '127.0.0.1');
  clients.push(socket);
  const client = { socket, received: '', error: undefined as NodeJS.ErrnoException | undefined, closed: false };
  socket.on('data', (chunk) => {
    client.received += chunk.toString();
  });
  socket.on('error', (err) => {
    client.error = err;
  });
  socket.on('close', () => {
    client.closed = true;
  });
  await once(socket, 'connect');
  return client;
}

describe('startTcpProxy', () => {
  it('passes bytes both ways', async () => {
    const client = await open();
    client.socket.write('hello');
    await waitFor(() => client.received === 'hello', { what: 'the echo' });
  });

  it('cut closes open connections and refuses new ones until restore', async () => {
    const client = await open();
    await waitFor(() => proxy.connections === 1, { what: 'the connection' });
    await proxy.cut();
    await waitFor(() => client.closed, { what: 'the open connection to close' });
    const refused = connect(proxy.port, '127.0.0.1');
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');

    await proxy.restore();
    const again = await open();
    again.socket.write('back');
    await waitFor(() => again.received === 'back', { what: 'the echo after restore' });
  });

  it('reset sends an RST on open connections while new ones still pass', async () => {
    const client = await open();
    await waitFor(() => proxy.connections === 1, { what: 'the connection' });
    proxy.reset();
    await waitFor(() => client.closed, { what: 'the reset' });
    expect(client.error?.code).toBe('ECONNRESET');
    const next = await open();
    next.socket.write('still');
    await waitFor(() => next.received === 'still', { what: 'a new connection to work' });
  });

  it('resetOn drops the first matching chunk and resets every connection, once', async () => {
    const client = await open();
    const other = await open();
    await waitFor(() => proxy.connections === 2, { what: 'both connections' });
    const armed = proxy.resetOn((chunk) => chunk.toString().includes('trigger'));
    client.socket.write('harmless');
    await waitFor(() => client.received === 'harmless', { what: 'a chunk that does not match to pass' });
    expect(armed.fired).toBe(false);
    client.socket.write('trigger');
    await waitFor(() => client.closed && other.closed, { what: 'the reset' });
    expect(client.error?.code).toBe('ECONNRESET');
    expect(other.error?.code).toBe('ECONNRESET');
    expect(arrived).not.toContain('trigger');
    expect(armed.fired).toBe(true);

    const next = await open();
    next.socket.write('trigger again');
    await waitFor(() => next.received === 'trigger again', { what: 'a match after the one-shot to pass' });
  });

  it('delay holds each chunk at least that long, in order', async () => {
    const client = await open();
    proxy.delay(150);
    const sent = Date.now();
    client.socket.write('a');
    client.socket.write('b');
    await waitFor(() => client.received === 'ab', { what: 'the delayed echo' });
    // A lower bound the proxy guarantees (one delay each way), not a speed measurement.
    expect(Date.now() - sent).toBeGreaterThanOrEqual(290);
  });

  it.each(['from-target', 'to-target', 'both'] as const)(
    'stall (%s) holds that traffic until restore, then releases it',
    async (direction) => {
      const client = await open();
      proxy.stall(direction);
      client.socket.write('held');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(client.received).toBe('');
      await proxy.restore();
      await waitFor(() => client.received === 'held', { what: 'the held bytes' });
    },
  );

  it('never delivers what it held for a client that went away', async () => {
    const client = await open();
    await waitFor(() => proxy.connections === 1, { what: 'the connection' });
    proxy.stall('to-target');
    client.socket.write('never-sent');
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.socket.destroy();
    await waitFor(() => proxy.connections === 0, { what: 'the proxy to let go of the connection' });
    await proxy.restore();
    const next = await open();
    next.socket.write('fresh');
    await waitFor(() => next.received === 'fresh', { what: 'the next connection' });
    expect(arrived).not.toContain('never-sent');
  });
});
