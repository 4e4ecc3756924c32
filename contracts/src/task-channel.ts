import { declareTaskTopology, type TopologyChannel } from './topology.ts';

/** The part of an amqplib confirm channel the setup uses (amqplib's ConfirmChannel fits it). */
export interface TaskChannel extends TopologyChannel {
  on(event: 'error' | 'close', listener: (err?: unknown) => void): unknown;
}

/** The part of a connection amqplib's recovery hands its `setup` (amqplib's ChannelModel fits it). */
export interface SetupConnection<C extends TaskChannel> {
  on(event: 'error', listener: (err: unknown) => void): unknown;
  createConfirmChannel(): Promise<C>;
  close(): Promise<void>;
}

export interface TaskChannelHooks<C> {
  onError(err: unknown): void;
  /** The channel closed; true if its owner wants the connection dropped so recovery builds both anew. */
  onClose(channel: C): boolean;
}

/**
 * The step each service's amqplib recovery `setup` starts with: a confirm channel with the task
 * topology declared. A channel that dies under a live connection (a broker-side error) would stop
 * the service silently, so its close drops the connection when the owner says so, and recovery
 * sets everything up again.
 */
export async function openTaskChannel<C extends TaskChannel>(
  connection: SetupConnection<C>,
  hooks: TaskChannelHooks<C>,
): Promise<C> {
  // amqplib's recovery listens for errors on a new connection only once setup has succeeded: an
  // unheard socket error during setup would crash the process. Setup then fails and is retried.
  connection.on('error', () => undefined);
  const channel = await connection.createConfirmChannel();
  channel.on('error', (err) => hooks.onError(err));
  channel.on('close', () => {
    if (hooks.onClose(channel)) void connection.close().catch(() => undefined);
  });
  await declareTaskTopology(channel);
  return channel;
}
