import { connect } from 'node:net';
import type { Probe } from './pod-host-mapping.ts';
import { PodSpecError } from './pod-host-mapping.ts';

/** One probe as the kubelet sent it, and what came back. */
export interface ProbeAttempt {
  container: string;
  /** `tcpSocket 10.213.4.6:8181`, `httpGet http://10.213.4.6:8080/readyz`, `exec node dist/x.js`. */
  target: string;
  ok: boolean;
  detail: string;
}

export interface ProbeContext {
  container: string;
  podIp: string;
  /** Runs a command inside the container (its namespaces, its user): exit code and output. */
  exec: (command: string[], timeoutMs: number) => Promise<{ code: number | null; output: string }>;
  /** False once the container has exited: probing stops. */
  running: () => boolean;
  record: (attempt: ProbeAttempt) => void;
}

/**
 * Runs a startup probe the way a kubelet does (prober.go, worker.go): after initialDelaySeconds,
 * one try every periodSeconds (default 10), each with timeoutSeconds (default 1), until one
 * succeeds or failureThreshold (default 3) tries in a row have failed. tcpSocket and httpGet go to
 * `host` if set, else to the pod IP (never to loopback); exec runs in the container.
 * Throws once the probe has failed for good (a kubelet would then restart the container; the
 * stand-in gives the pod up instead, with the reason, so a test sees it at once).
 */
export async function runStartupProbe(probe: Probe, context: ProbeContext): Promise<void> {
  const periodMs = (probe.periodSeconds ?? 10) * 1000;
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  const threshold = probe.failureThreshold ?? 3;
  await sleep((probe.initialDelaySeconds ?? 0) * 1000);
  let last: ProbeAttempt | undefined;
  for (let failures = 0; failures < threshold; failures++) {
    if (!context.running()) throw new PodSpecError(`${context.container} exited before its startup probe passed`);
    const started = Date.now();
    last = await attempt(probe, context, timeoutMs);
    context.record(last);
    if (last.ok) return;
    await sleep(Math.max(0, periodMs - (Date.now() - started)));
  }
  throw new PodSpecError(
    `startup probe of ${context.container} failed ${threshold} times: ${last?.target}: ${last?.detail}`,
  );
}

async function attempt(probe: Probe, context: ProbeContext, timeoutMs: number): Promise<ProbeAttempt> {
  const base = { container: context.container };
  if (probe.exec) {
    const target = `exec ${probe.exec.command.join(' ')}`;
    const { code, output } = await context.exec(probe.exec.command, timeoutMs);
    return { ...base, target, ok: code === 0, detail: `exit ${code}${output ? `: ${output.trim()}` : ''}` };
  }
  if (probe.tcpSocket) {
    const host = probe.tcpSocket.host ?? context.podIp;
    const port = numericPort(probe.tcpSocket.port);
    const target = `tcpSocket ${host}:${port}`;
    const error = await tcpConnect(host, port, timeoutMs);
    return { ...base, target, ok: error === undefined, detail: error ?? 'connected' };
  }
  if (probe.httpGet) {
    const host = probe.httpGet.host ?? context.podIp;
    const url = `http://${host}:${numericPort(probe.httpGet.port)}${probe.httpGet.path ?? '/'}`;
    const target = `httpGet ${url}`;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
      await response.body?.cancel();
      return { ...base, target, ok: response.status >= 200 && response.status < 400, detail: `${response.status}` };
    } catch (err) {
      return { ...base, target, ok: false, detail: (err as Error).cause ? String((err as Error).cause) : String(err) };
    }
  }
  throw new PodSpecError(`${context.container}: a startup probe needs exec, tcpSocket or httpGet`);
}

function numericPort(port: number | string): number {
  if (typeof port !== 'number') throw new PodSpecError(`named probe port ${port} is not supported`);
  return port;
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timed out');
    });
    socket.once('error', (err) => resolve(err.message));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
