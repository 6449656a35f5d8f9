// One worker thread of the ingest benchmark's senders: `connections` MLLP connections, each sending
// its messages one at a time and waiting for the ACK (as MLLP senders do), until `durationMs` ends.
// In a thread of its own so that producing load does not take the listener's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { createMllpClient } from '../../protocol/mllp/client.ts';
import { ackOf, MESSAGE_KINDS, type MessageKind } from '../../test/support/hl7-messages.ts';

export type SenderJob = {
  readonly port: number;
  readonly connections: number;
  readonly durationMs: number;
  readonly kind: MessageKind;
  /** Distinguishes this run's control ids from every other run's. */
  readonly prefix: string;
};
export type SenderResult = { readonly sent: number; readonly refused: number; readonly errors: number; readonly latenciesMs: number[] };

const job = workerData as SenderJob;
const build = MESSAGE_KINDS[job.kind];
const until = performance.now() + job.durationMs;
const latenciesMs: number[] = [];
let refused = 0;
let errors = 0;

await Promise.all(
  Array.from({ length: job.connections }, async (_, c) => {
    const client = createMllpClient({ host: '127.0.0.1', port: job.port, timeoutMs: 10_000 });
    for (let i = 0; performance.now() < until; i++) {
      const controlId = `${job.prefix}${c}.${i}`;
      const t0 = performance.now();
      try {
        const ack = ackOf(await client.send(Buffer.from(build(controlId, `MRN${c}x${i % 500}`))));
        latenciesMs.push(performance.now() - t0);
        if (ack?.code !== 'AA' && ack?.code !== 'CA') refused++;
      } catch {
        errors++;
      }
    }
    await client.close();
  }),
);
parentPort!.postMessage({ sent: latenciesMs.length, refused, errors, latenciesMs } satisfies SenderResult);
