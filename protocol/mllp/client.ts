// MLLP sender: one message at a time on one connection, each waiting for its framed reply. The
// connection is opened on first use and again after any failure, so a caller that retries a
// failed send gets a fresh connection. A timed-out connection is dropped rather than reused: a
// late ACK on it would otherwise be taken as the answer to the next message.
import net from 'node:net';
import tls from 'node:tls';
import { SOURCE_FAILURE, SourceError } from '../errors.ts';
import { createFrameDecoder, encodeFrame, MLLP } from './framing.ts';

export type MllpClientOptions = {
  readonly host: string;
  readonly port: number;
  /** TLS toward the listener; `ca` to trust a private CA or a self-signed listener. */
  readonly tls?: { readonly ca?: string | Buffer; readonly servername?: string; readonly rejectUnauthorized?: boolean };
  /** Time allowed to connect and get the reply to one message. */
  readonly timeoutMs: number;
  readonly maxMessageBytes?: number;
  /** The name errors carry (default mllp://host:port). */
  readonly source?: string;
};

export type MllpClient = {
  /** Sends one message and resolves with the reply (the ACK) without its framing. */
  send(message: Buffer): Promise<Buffer>;
  close(): Promise<void>;
};

type Pending = { resolve: (reply: Buffer) => void; reject: (error: Error) => void };

export function createMllpClient(options: MllpClientOptions): MllpClient {
  const source = options.source ?? `mllp://${options.host}:${options.port}`;
  const maxMessageBytes = options.maxMessageBytes ?? MLLP.defaultMaxMessageBytes;
  let socket: net.Socket | undefined;
  let pending: Pending | undefined;
  // Sends are chained so that exactly one message is unanswered at a time.
  let chain: Promise<unknown> = Promise.resolve();

  const fail = (failure: (typeof SOURCE_FAILURE)[keyof typeof SOURCE_FAILURE], detail: string): void => {
    const waiting = pending;
    pending = undefined;
    socket?.destroy();
    socket = undefined;
    waiting?.reject(new SourceError(source, failure, detail));
  };

  // Nagle off: each message is one write whose ACK is awaited before the next.
  const connect = (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const fresh = options.tls
        ? tls.connect({ host: options.host, port: options.port, ...options.tls })
        : net.connect({ host: options.host, port: options.port, noDelay: true });
      fresh.setNoDelay(true);
      const ready = options.tls ? 'secureConnect' : 'connect';
      const timer = setTimeout(() => {
        fresh.destroy();
        reject(new SourceError(source, SOURCE_FAILURE.timeout, `no connection within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      fresh.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new SourceError(source, SOURCE_FAILURE.unreachable, error.code ?? error.message));
      });
      fresh.once(ready, () => {
        clearTimeout(timer);
        fresh.removeAllListeners('error');
        const frames = createFrameDecoder({ maxMessageBytes });
        fresh.on('data', (chunk: Buffer) => {
          if (socket !== fresh) return;
          for (const event of frames.push(chunk)) {
            if (event.kind === 'message') {
              const waiting = pending;
              pending = undefined;
              // A reply nobody waits for means the peer and we disagree on order: start over.
              if (waiting) waiting.resolve(event.message);
              else fail(SOURCE_FAILURE.invalidResponse, 'unexpected reply');
            } else if (event.kind === 'oversize') fail(SOURCE_FAILURE.invalidResponse, 'reply over the size limit');
          }
        });
        fresh.on('error', (error: NodeJS.ErrnoException) => {
          if (socket === fresh) fail(SOURCE_FAILURE.unreachable, error.code ?? error.message);
        });
        fresh.on('close', () => {
          if (socket === fresh) fail(SOURCE_FAILURE.unreachable, 'connection closed before the reply');
        });
        socket = fresh;
        resolve(fresh);
      });
    });

  const sendOne = async (message: Buffer): Promise<Buffer> => {
    const open = socket && !socket.destroyed ? socket : await connect();
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => fail(SOURCE_FAILURE.timeout, `no reply within ${options.timeoutMs} ms`), options.timeoutMs);
      pending = {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      open.write(encodeFrame(message));
    });
  };

  return {
    send(message) {
      const result = chain.then(() => sendOne(message));
      chain = result.catch(() => undefined);
      return result;
    },
    async close() {
      await chain;
      const open = socket;
      socket = undefined;
      if (!open || open.destroyed) return;
      await new Promise<void>((resolve) => {
        open.once('close', () => resolve());
        open.end();
        setTimeout(() => open.destroy(), 1000).unref();
      });
    },
  };
}
