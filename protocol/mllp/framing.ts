// MLLP framing (HL7 v2 Minimal Lower Layer Protocol): <VT> message <FS><CR>. Messages are bytes
// here; nothing in this file reads HL7. The decoder is fed TCP chunks as they arrive, so a frame
// may span many chunks and one chunk may hold several frames.
export const MLLP = {
  startBlock: 0x0b,
  endBlock: 0x1c,
  carriageReturn: 0x0d,
  defaultPort: 2575,
  /** 1 MiB: far above an ADT or an ORU with a few hundred results, low enough to bound memory per connection. */
  defaultMaxMessageBytes: 1024 * 1024,
} as const;

/** Wraps one message in its frame. */
export function encodeFrame(message: Buffer): Buffer {
  return Buffer.concat([Buffer.of(MLLP.startBlock), message, Buffer.of(MLLP.endBlock, MLLP.carriageReturn)]);
}

export type DecodeEvent =
  | { readonly kind: 'message'; readonly message: Buffer }
  /** Bytes outside any frame, or a frame abandoned by a new start block: dropped, only counted. */
  | { readonly kind: 'discarded'; readonly bytes: number }
  /** The frame being read went over the limit; `head` is what was read of it (its first maxMessageBytes). */
  | { readonly kind: 'oversize'; readonly bytes: number; readonly limit: number; readonly head: Buffer };

export type FrameDecoder = {
  /** Feeds one chunk; returns what it completed, in order. After an `oversize` event it ignores everything. */
  push(chunk: Buffer): DecodeEvent[];
  /** Whether a frame is started and not finished, and which one (counts frame starts), for the slow-sender timer. */
  readonly state: () => { readonly inFrame: boolean; readonly frameIndex: number; readonly failed: boolean };
};

export function createFrameDecoder(options: { readonly maxMessageBytes: number }): FrameDecoder {
  const limit = options.maxMessageBytes;
  let inFrame = false;
  let failed = false;
  let frameIndex = 0;
  let parts: Buffer[] = [];
  let size = 0;
  // The end block was the last byte of the previous chunk: whether it ends the frame depends on the next byte.
  let pendingEndBlock = false;

  function push(chunk: Buffer): DecodeEvent[] {
    const events: DecodeEvent[] = [];
    const discard = (bytes: number): void => {
      if (bytes <= 0) return;
      const last = events.at(-1);
      if (last?.kind === 'discarded') events[events.length - 1] = { kind: 'discarded', bytes: last.bytes + bytes };
      else events.push({ kind: 'discarded', bytes });
    };
    // Returns false (and records the refusal) when appending would cross the limit.
    const append = (bytes: Buffer): boolean => {
      if (size + bytes.length > limit) {
        parts.push(bytes.subarray(0, limit - size));
        events.push({ kind: 'oversize', bytes: size + bytes.length, limit, head: Buffer.concat(parts) });
        failed = true;
        parts = [];
        return false;
      }
      if (bytes.length > 0) parts.push(bytes);
      size += bytes.length;
      return true;
    };
    const startFrame = (): void => {
      inFrame = true;
      frameIndex += 1;
      parts = [];
      size = 0;
    };
    const finishFrame = (): void => {
      events.push({ kind: 'message', message: Buffer.concat(parts, size) });
      inFrame = false;
      parts = [];
      size = 0;
    };

    let i = 0;
    while (i < chunk.length && !failed) {
      if (!inFrame) {
        const start = chunk.indexOf(MLLP.startBlock, i);
        if (start === -1) {
          discard(chunk.length - i);
          break;
        }
        discard(start - i);
        startFrame();
        i = start + 1;
        continue;
      }
      if (pendingEndBlock) {
        pendingEndBlock = false;
        if (chunk[i] === MLLP.carriageReturn) {
          finishFrame();
          i += 1;
          continue;
        }
        // A lone end block inside a frame is data (lenient, as most engines are).
        if (!append(Buffer.of(MLLP.endBlock))) break;
      }
      let j = i;
      while (j < chunk.length && chunk[j] !== MLLP.endBlock && chunk[j] !== MLLP.startBlock) j += 1;
      if (!append(chunk.subarray(i, j))) break;
      if (j === chunk.length) break;
      if (chunk[j] === MLLP.startBlock) {
        // A new frame before this one ended: the sender gave up on it; the partial frame is dropped.
        discard(size + 1);
        startFrame();
        i = j + 1;
        continue;
      }
      if (j + 1 === chunk.length) {
        pendingEndBlock = true;
        break;
      }
      if (chunk[j + 1] === MLLP.carriageReturn) {
        finishFrame();
        i = j + 2;
        continue;
      }
      if (!append(Buffer.of(MLLP.endBlock))) break;
      i = j + 1;
    }
    return events;
  }

  return { push, state: () => ({ inFrame, frameIndex, failed }) };
}
