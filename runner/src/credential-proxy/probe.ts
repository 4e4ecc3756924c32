import { connect } from 'node:net';
import { z } from 'zod';

// The sidecar's startup probe, run by the kubelet inside the proxy's container (an exec probe):
// the proxy listens on the pod's loopback only, where a tcpSocket or httpGet probe, sent to the
// pod IP, cannot reach it. Exit 0 once it accepts a connection on 127.0.0.1:PROXY_PORT, else 1.

const Env = z.object({ PROXY_PORT: z.coerce.number().int().min(1).max(65535).default(8181) });
const TIMEOUT_MS = 2000;

const parsed = Env.safeParse(process.env);
if (!parsed.success) {
  console.error(`invalid configuration: PROXY_PORT: ${parsed.error.issues[0]?.message}`);
  process.exit(2);
}
const socket = connect({ host: '127.0.0.1', port: parsed.data.PROXY_PORT, timeout: TIMEOUT_MS });
socket.once('connect', () => {
  socket.destroy();
  process.exit(0);
});
socket.once('timeout', () => {
  console.error(`credential proxy: no answer on 127.0.0.1:${parsed.data.PROXY_PORT}`);
  process.exit(1);
});
socket.once('error', (err) => {
  console.error(`credential proxy: ${err.message}`);
  process.exit(1);
});
