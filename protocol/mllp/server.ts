// MLLP listener: frames in, the handler's ACK bytes out. What a message means and what its ACK
// says belong to the caller (the HL7 parser, the inbox); this file only moves bytes safely.
//
// Per connection, messages are handled one at a time in arrival order, as MLLP senders expect
// (an ACK answers the oldest unanswered message). Connections are handled concurrently.
//
// A handler that throws: no ACK is sent for that message and the connection is closed; messages
// the sender had already pipelined behind it are dropped unanswered. Keeping the connection open
// would make the next ACK look like the answer to the failed message to a sender that matches
// ACKs by order; closing makes the sender notice at once, reconnect and resend from the first
// unacknowledged message.
import net from 'node:net';
import tls from 'node:tls';
import { logger } from '../../platform/log.ts';
import { createFrameDecoder, encodeFrame, MLLP } from './framing.ts';

export type MllpMeta = { readonly remoteAddress: string; readonly connectionId: string; readonly receivedAt: Date };
export type MllpHandler = (message: Buffer, meta: MllpMeta) => Promise<Buffer>;

export const CLOSE_REASONS = {
  peer: 'peer',
  idle: 'idle_timeout',
  slowSender: 'slow_sender_timeout',
  oversize: 'oversize',
  handlerError: 'handler_error',
  shutdown: 'shutdown',
  socketError: 'socket_error',
} as const;
export type CloseReason = (typeof CLOSE_REASONS)[keyof typeof CLOSE_REASONS];

/** Metrics and log facts: ids, counts, sizes, durations; never message content. */
export type MllpEvent =
  | { readonly type: 'connection_opened'; readonly connectionId: string; readonly remoteAddress: string }
  | { readonly type: 'connection_refused'; readonly remoteAddress: string }
  | {
      readonly type: 'connection_closed';
      readonly connectionId: string;
      readonly reason: CloseReason;
      readonly messages: number;
      readonly durationMs: number;
    }
  | {
      readonly type: 'message_acked';
      readonly connectionId: string;
      readonly bytes: number;
      readonly ackBytes: number;
      readonly durationMs: number;
    }
  | { readonly type: 'handler_failed'; readonly connectionId: string; readonly bytes: number; readonly durationMs: number }
  | { readonly type: 'bytes_discarded'; readonly connectionId: string; readonly bytes: number }
  | { readonly type: 'oversize'; readonly connectionId: string; readonly bytes: number; readonly limit: number };

export type MllpServerOptions = {
  readonly port?: number;
  readonly host?: string;
  readonly maxMessageBytes?: number;
  /** No byte received and nothing in flight for this long: the connection is closed. */
  readonly idleTimeoutMs?: number;
  /** A frame started and not finished within this time: the connection is closed. */
  readonly slowSenderTimeoutMs?: number;
  /** Connections beyond this are closed as they arrive. */
  readonly maxConnections?: number;
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  readonly handler: MllpHandler;
  /**
   * The bytes to answer a frame over maxMessageBytes with (an AR built by the caller, from the
   * head of the message, which holds its MSH); sent framed before the connection is closed. Without
   * it the connection is closed without an answer.
   */
  readonly oversizeResponse?: (head: Buffer, facts: { readonly bytes: number; readonly limit: number }) => Buffer;
  readonly onEvent?: (event: MllpEvent) => void;
};

export type MllpServer = {
  readonly port: number;
  readonly address: string;
  /** Stops accepting, lets each connection finish the message in flight and send its ACK, then closes. */
  close(): Promise<void>;
};

export const MLLP_SERVER_DEFAULTS = {
  port: MLLP.defaultPort,
  host: '0.0.0.0',
  maxMessageBytes: MLLP.defaultMaxMessageBytes,
  idleTimeoutMs: 5 * 60_000,
  slowSenderTimeoutMs: 30_000,
  maxConnections: 200,
  /** A pipelining sender is paused when this many messages wait behind the one in flight. */
  maxQueuedPerConnection: 32,
} as const;

const log = logger('mllp');

type Connection = { readonly shutdown: () => Promise<void> };

export async function createMllpServer(options: MllpServerOptions): Promise<MllpServer> {
  const settings: Settings = {
    port: options.port ?? MLLP_SERVER_DEFAULTS.port,
    host: options.host ?? MLLP_SERVER_DEFAULTS.host,
    maxMessageBytes: options.maxMessageBytes ?? MLLP_SERVER_DEFAULTS.maxMessageBytes,
    idleTimeoutMs: options.idleTimeoutMs ?? MLLP_SERVER_DEFAULTS.idleTimeoutMs,
    slowSenderTimeoutMs: options.slowSenderTimeoutMs ?? MLLP_SERVER_DEFAULTS.slowSenderTimeoutMs,
    maxConnections: options.maxConnections ?? MLLP_SERVER_DEFAULTS.maxConnections,
    maxQueuedPerConnection: MLLP_SERVER_DEFAULTS.maxQueuedPerConnection,
  };
  const connections = new Set<Connection>();
  let nextId = 0;
  let closing = false;

  const emit = (event: MllpEvent): void => {
    options.onEvent?.(event);
    const { type, ...fields } = event;
    if (type === 'bytes_discarded' || type === 'oversize' || type === 'handler_failed' || type === 'connection_refused')
      log.warn(type, fields);
    else log.debug(type, fields);
  };

  const onSocket = (socket: net.Socket): void => {
    if (closing) {
      socket.destroy();
      return;
    }
    nextId += 1;
    const connection = serve(socket, `${nextId}`, settings, options, emit);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  };

  // Half-open allowed: a sender that sends and half-closes still gets its ACKs (see serve's 'end').
  // Nagle off: an ACK is one small write the sender waits for; it must not wait for more to send.
  const server = options.tls
    ? tls.createServer({ key: options.tls.key, cert: options.tls.cert, allowHalfOpen: true, noDelay: true }, onSocket)
    : net.createServer({ allowHalfOpen: true, noDelay: true }, onSocket);
  server.maxConnections = settings.maxConnections;
  server.on('drop', (data) => emit({ type: 'connection_refused', remoteAddress: data?.remoteAddress ?? 'unknown' }));
  // A failed TLS handshake is the peer's problem; it must not take the listener down.
  server.on('tlsClientError', (error: Error) => log.warn('tls_handshake_failed', { error: error.message }));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  log.info('listening', { port: bound.port, tls: Boolean(options.tls) });

  return {
    port: bound.port,
    address: bound.address,
    async close() {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...connections].map((c) => c.shutdown()));
      await stopped;
    },
  };
}

type Settings = { readonly [K in keyof typeof MLLP_SERVER_DEFAULTS]: (typeof MLLP_SERVER_DEFAULTS)[K] extends number ? number : string };

function serve(
  socket: net.Socket,
  connectionId: string,
  settings: Settings,
  options: MllpServerOptions,
  emit: (event: MllpEvent) => void,
): Connection {
  const openedAt = Date.now();
  const remoteAddress = socket.remoteAddress ?? 'unknown';
  const decoder = createFrameDecoder({ maxMessageBytes: settings.maxMessageBytes });
  // Work waiting behind the message in flight: a message to handle, or the final oversize answer.
  const queue: ({ kind: 'message'; message: Buffer; receivedAt: Date } | { kind: 'oversize'; response: Buffer | undefined })[] = [];
  let busy = false;
  let closeReason: CloseReason | undefined;
  let handled = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let slowTimer: NodeJS.Timeout | undefined;
  let slowTimerFrame = -1;
  let drained = Promise.resolve();
  let markDrained: () => void = () => {};
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));

  emit({ type: 'connection_opened', connectionId, remoteAddress });

  const end = (reason: CloseReason): void => {
    if (closeReason) return;
    closeReason = reason;
    clearTimeout(idleTimer);
    clearTimeout(slowTimer);
    queue.length = 0;
    socket.pause();
    socket.end();
    // A peer that never reads could keep the socket half-closed; do not wait on it forever.
    setTimeout(() => socket.destroy(), 2000).unref();
  };

  const armIdle = (): void => {
    clearTimeout(idleTimer);
    if (closeReason) return;
    idleTimer = setTimeout(() => {
      if (busy || queue.length > 0) armIdle();
      else end(CLOSE_REASONS.idle);
    }, settings.idleTimeoutMs);
  };

  const checkSlowSender = (): void => {
    const { inFrame, frameIndex } = decoder.state();
    if (!inFrame) {
      clearTimeout(slowTimer);
      slowTimerFrame = -1;
    } else if (slowTimerFrame !== frameIndex) {
      clearTimeout(slowTimer);
      slowTimerFrame = frameIndex;
      slowTimer = setTimeout(() => end(CLOSE_REASONS.slowSender), settings.slowSenderTimeoutMs);
    }
  };

  const drain = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    drained = new Promise((resolve) => (markDrained = resolve));
    try {
      while (queue.length > 0 && !closeReason) {
        const item = queue.shift()!;
        if (socket.isPaused() && queue.length < settings.maxQueuedPerConnection && !decoder.state().failed) socket.resume();
        if (item.kind === 'oversize') {
          if (item.response) socket.write(encodeFrame(item.response));
          end(CLOSE_REASONS.oversize);
          break;
        }
        const started = Date.now();
        let ack: Buffer;
        try {
          ack = await options.handler(item.message, { remoteAddress, connectionId, receivedAt: item.receivedAt });
        } catch {
          emit({ type: 'handler_failed', connectionId, bytes: item.message.length, durationMs: Date.now() - started });
          end(CLOSE_REASONS.handlerError);
          break;
        }
        handled += 1;
        // The peer left while its message was handled: the sender will resend it, the inbox makes that harmless.
        if (!socket.writable) break;
        socket.write(encodeFrame(ack));
        emit({ type: 'message_acked', connectionId, bytes: item.message.length, ackBytes: ack.length, durationMs: Date.now() - started });
      }
    } finally {
      busy = false;
      markDrained();
      armIdle();
    }
  };

  socket.on('data', (chunk: Buffer) => {
    if (closeReason) return;
    armIdle();
    for (const event of decoder.push(chunk)) {
      if (event.kind === 'message') queue.push({ kind: 'message', message: event.message, receivedAt: new Date() });
      else if (event.kind === 'discarded') emit({ type: 'bytes_discarded', connectionId, bytes: event.bytes });
      else {
        emit({ type: 'oversize', connectionId, bytes: event.bytes, limit: event.limit });
        queue.push({ kind: 'oversize', response: options.oversizeResponse?.(event.head, { bytes: event.bytes, limit: event.limit }) });
        socket.pause();
      }
    }
    checkSlowSender();
    if (queue.length >= settings.maxQueuedPerConnection) socket.pause();
    void drain();
  });
  socket.on('end', () => {
    // The sender half-closed: answer what it sent, then close our side.
    void drained.then(() => drain()).then(() => end(CLOSE_REASONS.peer));
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    log.debug('socket_error', { connectionId, code: error.code });
    closeReason ??= CLOSE_REASONS.socketError;
  });
  socket.once('close', () => {
    clearTimeout(idleTimer);
    clearTimeout(slowTimer);
    queue.length = 0;
    emit({
      type: 'connection_closed',
      connectionId,
      reason: closeReason ?? CLOSE_REASONS.peer,
      messages: handled,
      durationMs: Date.now() - openedAt,
    });
  });
  armIdle();

  return {
    async shutdown() {
      // Messages not yet started are dropped unanswered (the sender resends them); the one in flight finishes.
      queue.length = 0;
      socket.pause();
      await drained;
      end(CLOSE_REASONS.shutdown);
      await closed;
    },
  };
}
