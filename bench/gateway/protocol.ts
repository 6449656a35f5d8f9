// Messages between the benchmark's main process (run.ts) and its children (backend.ts,
// gateway.ts), plus the small lifecycle helper every child uses: stop on request, on a signal or
// when the parent goes away, so no child outlives a run.

/** One component cost measured in isolation in the backend, before any load. */
export type MicroCost = { readonly name: string; readonly ops: number; readonly microsPerOp: number };

export type BackendReady = {
  readonly type: 'ready';
  /** Subgraph name -> URL of the product's guarded subgraphs (identity, shield, audit). */
  readonly guarded: Readonly<Record<string, string>>;
  /** Subgraph name -> URL of the same subgraph code started with `unguardedAs`. */
  readonly unguarded: Readonly<Record<string, string>>;
  /** Golden patient ids linked to a source record of every adapter, in random (uuid) order. */
  readonly goldenCandidates: readonly string[];
  /** Connection id -> adapter (subgraph) name, to tell sources apart in responses. */
  readonly adapterOfSource: Readonly<Record<string, string>>;
  readonly storage: 'postgres' | 'pglite';
  readonly cache: 'redis' | 'in-process';
  readonly population: {
    readonly seed: number;
    readonly size: number;
    readonly goldenPatients: number;
    readonly linkedToAllAdapters: number;
  };
  readonly startupSeconds: number;
  readonly micro: readonly MicroCost[];
};

export type ChildStats = { readonly type: 'stats'; readonly maxRssKb: number; readonly auditRows?: number };
export type GatewayReady = { readonly type: 'ready'; readonly url: string; readonly startupSeconds: number };
export type ChildFailed = { readonly type: 'failed'; readonly message: string };
export type ParentRequest = { readonly type: 'stats' } | { readonly type: 'stop' };

export type GatewayKind = 'full' | 'stock';
export type GatewayConfig = {
  readonly kind: GatewayKind;
  readonly subgraphUrls: Readonly<Record<string, string>>;
  readonly keysDir: string;
};

export function send(message: BackendReady | GatewayReady | ChildStats | ChildFailed): void {
  process.send?.(message);
}

/**
 * Runs `stop` once, on the parent's `stop` message, SIGINT/SIGTERM or the IPC channel closing
 * (the parent died), then exits; a stop that hangs is cut after `graceMs`.
 */
export function stopOnRequest(stop: () => Promise<void>, stats: () => Promise<ChildStats>, graceMs = 15_000): void {
  let stopping = false;
  const shutdown = (code: number) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(code === 0 ? 1 : code), graceMs).unref();
    stop()
      .catch((error: unknown) => process.stderr.write(`[bench child] stop failed: ${(error as Error).message}\n`))
      .finally(() => process.exit(code));
  };
  process.on('message', (m: ParentRequest) => {
    if (m.type === 'stop') shutdown(0);
    else if (m.type === 'stats') stats().then(send, (error: unknown) => send({ type: 'failed', message: (error as Error).message }));
  });
  process.once('SIGINT', () => shutdown(130));
  process.once('SIGTERM', () => shutdown(143));
  process.once('disconnect', () => shutdown(1));
}

/** Peak resident set size of this process, in KiB (Linux reports maxRSS in KiB). */
export const maxRssKb = (): number => process.resourceUsage().maxRSS;
