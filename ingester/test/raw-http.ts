import { connect } from 'node:net';

export interface RawResponse {
  /** 0 when the server closed the connection without answering. */
  status: number;
  head: string;
  body: string;
}

/**
 * Writes `request` byte for byte to a socket and reads until the server closes it (the request
 * says `Connection: close`), so a test can
 * send what no HTTP client would (repeated headers, odd framing) and see exactly what comes back.
 */
export function rawRequest(port: number, request: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A server that answers and closes before reading everything may reset the connection.
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    socket.on('close', () => resolve(parseResponse(Buffer.concat(chunks).toString('latin1'))));
    // Not end(): Node's server drops a request whose sender half-closes before it is answered.
    socket.write(request);
  });
}

export function parseResponse(text: string): RawResponse {
  const split = text.indexOf('\r\n\r\n');
  const head = split === -1 ? text : text.slice(0, split);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  return { status, head, body: split === -1 ? '' : text.slice(split + 4) };
}

/** Serializes a request with the given header lines (repeats allowed) and body framing. */
export function serializeRequest(
  path: string,
  headers: [string, string][],
  body: Buffer,
  framing: { chunked: false } | { chunked: true; chunkSize: number },
): Buffer {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if (!framing.chunked) {
    lines.push(`Content-Length: ${body.length}`);
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
  }
  lines.push('Transfer-Encoding: chunked');
  const parts: Buffer[] = [Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')];
  for (let at = 0; at < body.length; at += framing.chunkSize) {
    const chunk = body.subarray(at, at + framing.chunkSize);
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}
