import type { IncomingMessage } from 'node:http';

/** How long a refused sender may go on sending before its connection is cut (nginx's lingering_timeout). */
export const LINGER_MS = 5000;

/**
 * A lingering close for a request answered before its body was read (413, 415). Node's HTTP
 * server closes such a connection as soon as the answer is written, while the sender is still
 * sending: the kernel then answers the unread bytes with a reset, which can destroy the answer
 * before the sender reads it (a plain client saw a connection reset instead of its 413 about one
 * time in three). So, as Apache and nginx do: send the answer and our FIN, go on reading and
 * dropping what the sender still writes, and close once it has closed its side, or after
 * `lingerMs`.
 */
export function lingerBeforeClosing(request: IncomingMessage, lingerMs = LINGER_MS): void {
  const { socket } = request;
  // Node calls destroySoon once the last answer on a closing connection is written.
  socket.destroySoon = () => {
    socket.end();
    const cut = setTimeout(() => socket.destroy(), lingerMs);
    socket.once('close', () => clearTimeout(cut));
  };
  // A body whose reading stopped half way (a chunked one over the limit) is read on, and dropped.
  request.resume();
}
