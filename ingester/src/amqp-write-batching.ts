import type { ChannelModel } from 'amqplib';

/** The parts of amqplib's (untyped) Connection that batching touches. */
interface MuxedConnection {
  stream?: { cork?: () => void; uncork?: () => void };
  muxer?: { _readIncoming?: () => void };
}

/**
 * Hands the kernel all the frames amqplib has queued in one write instead of one write per frame.
 *
 * amqplib queues a publish's frames (method and header in one buffer, then the body: two for a
 * task over 2 KB) on the channel's stream, and its muxer moves them to the socket in a
 * setImmediate, one `socket.write` each; with Nagle off that is one syscall per frame, the
 * largest item in the ingester's profile under load (pnpm bench, figure 1). Corking the socket for
 * the duration of that loop turns the frames of every publish queued since the last turn into one
 * writev, in the same order. Nothing waits longer: the uncork is in the same synchronous call.
 *
 * Reaches into amqplib's internals (`connection.muxer`, `connection.stream`); when a version no
 * longer has them, this does nothing and amqplib writes frame by frame as before.
 */
export function batchFrameWrites(model: ChannelModel): boolean {
  const connection = (model as unknown as { connection?: MuxedConnection }).connection;
  const stream = connection?.stream;
  const muxer = connection?.muxer;
  const readIncoming = muxer?._readIncoming;
  if (!stream?.cork || !stream.uncork || !muxer || typeof readIncoming !== 'function') return false;
  const cork = stream.cork.bind(stream);
  const uncork = stream.uncork.bind(stream);
  // An own property shadows the prototype's: the muxer's drain listener and scheduled read call this one.
  muxer._readIncoming = () => {
    cork();
    try {
      readIncoming.call(muxer);
    } finally {
      uncork();
    }
  };
  return true;
}
