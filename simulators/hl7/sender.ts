// The simulated site's MLLP sender: one message at a time, each retransmitted until the listener
// answers it (any ACK: AA, or an AE/AR naming the problem), as a real interface engine does. A
// listener that is down, a lost connection or a timeout only delays the message; the sender never
// skips one. The fault tests drive it too (retransmission after a kill). Like the EHR it stands in
// for, it has its own MLLP framing (VT message FS CR) and shares no product code.
import net from 'node:net';

const VT = 0x0b;
const FS = 0x1c;
const CR = 0x0d;

/** One connection, one message in flight: the reply is the bytes between VT and FS CR. */
function mllpConnection(host: string, port: number, timeoutMs: number) {
  let socket: net.Socket | undefined;
  let buffer = Buffer.alloc(0);
  let waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  const fail = (error: Error): void => {
    socket?.destroy();
    socket = undefined;
    buffer = Buffer.alloc(0);
    const w = waiting;
    waiting = undefined;
    w?.reject(error);
  };
  const open = (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
      s.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        const start = buffer.indexOf(VT);
        const end = buffer.indexOf(Buffer.from([FS, CR]), start + 1);
        if (start < 0 || end < 0) return;
        const reply = buffer.subarray(start + 1, end);
        buffer = buffer.subarray(end + 2);
        const w = waiting;
        waiting = undefined;
        w?.resolve(Buffer.from(reply));
      });
      s.on('close', () => fail(new Error('connection closed')));
      s.on('error', (e) => fail(e));
    });
  return {
    async send(message: Buffer): Promise<Buffer> {
      socket ??= await open();
      const s = socket;
      return new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => fail(new Error('no ACK in time')), timeoutMs);
        waiting = {
          resolve: (b) => (clearTimeout(timer), resolve(b)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        };
        s.write(Buffer.concat([Buffer.from([VT]), message, Buffer.from([FS, CR])]));
      });
    },
    close(): void {
      socket?.end();
      socket?.destroy();
      socket = undefined;
    },
  };
}

export type Hl7SenderOptions = {
  readonly host: string;
  readonly port: number;
  /** Wait for one ACK (default 10 s). */
  readonly timeoutMs?: number;
  /** First pause before a retransmission, doubled up to maxRetryMs (defaults 100 ms, 5 s). */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
};

export type Hl7Sender = {
  /** Sends one message until it is answered; resolves with the ACK (ER7 text). Rejects only once closed. */
  send(message: string): Promise<string>;
  /** Sends messages in order; `onAck` sees each answer. Stops early when closed. */
  sendAll(messages: readonly string[], onAck?: (ack: string, index: number) => void): Promise<number>;
  /** Retransmissions so far (a message sent again after no answer). */
  readonly retransmissions: number;
  close(): Promise<void>;
};

export class SenderClosed extends Error {
  constructor() {
    super('HL7 sender closed');
    this.name = 'SenderClosed';
  }
}

export function createHl7Sender(options: Hl7SenderOptions): Hl7Sender {
  const client = mllpConnection(options.host, options.port, options.timeoutMs ?? 10_000);
  let closed = false;
  let retransmissions = 0;
  const wakers = new Set<() => void>();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakers.add(done);
    });

  const send = async (message: string): Promise<string> => {
    let delay = options.retryMs ?? 100;
    for (;;) {
      if (closed) throw new SenderClosed();
      try {
        return (await client.send(Buffer.from(message, 'utf8'))).toString('utf8');
      } catch {
        // No answer: the listener is down or the connection broke; the same bytes again, later.
        if (closed) throw new SenderClosed();
        retransmissions++;
        await pause(delay);
        delay = Math.min(delay * 2, options.maxRetryMs ?? 5000);
      }
    }
  };

  return {
    send,
    async sendAll(messages, onAck) {
      let sent = 0;
      for (const m of messages) {
        if (closed) break;
        try {
          onAck?.(await send(m), sent);
        } catch (error) {
          if (error instanceof SenderClosed) break;
          throw error;
        }
        sent++;
      }
      return sent;
    },
    get retransmissions() {
      return retransmissions;
    },
    async close() {
      closed = true;
      for (const wake of [...wakers]) wake();
      client.close();
    },
  };
}
