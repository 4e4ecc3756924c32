import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';

/** `127.0.0.1:8181` as /proc/net/tcp writes it: the address's bytes reversed, both in hex. */
function procAddress(address: string, port: number): string | undefined {
  const parts = address
    .replace(/^::ffff:/, '')
    .split('.')
    .map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) return undefined;
  const hex = parts
    .reverse()
    .map((part) => part.toString(16).padStart(2, '0'))
    .join('');
  return `${hex}:${port.toString(16).padStart(4, '0')}`.toUpperCase();
}

/**
 * The uid owning the other end of a loopback TCP connection, from /proc/net/tcp (the socket's
 * owner, as `ss -e` shows it); undefined when it cannot be told (not IPv4, not found).
 */
export async function peerUid(socket: Socket): Promise<number | undefined> {
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (!remoteAddress || !remotePort || !localAddress || !localPort) return undefined;
  const peer = procAddress(remoteAddress, remotePort);
  const self = procAddress(localAddress, localPort);
  if (!peer || !self) return undefined;
  const table = await readFile('/proc/net/tcp', 'utf8').catch(() => '');
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid …
    if (fields[1] === peer && fields[2] === self) return Number(fields[7]);
  }
  return undefined;
}
