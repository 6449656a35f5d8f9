// Messages between the benchmark's main process (run.ts) and its children (backend.ts,
// gateway.ts), plus the small lifecycle helper every child uses: stop on request, on a signal or
// when the parent goes away, so no child outlives a run.

/** The full target's caller (the subject of its bearer token): its audit rows are the benchmark's. */
export const BENCH_CLINICIAN = 'bench-clinician';

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
  /** Entity type of a source record -> the subgraph that resolves its observations (EpicRecord -> epic). */
  readonly subgraphOfRecordType: Readonly<Record<string, string>>;
  /** The database schema the benchmark's stack writes to (dropped when the backend stops). */
  readonly dbSchema: string;
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

export type ChildStats = { readonly type: 'stats'; readonly maxRssKb: number };
/** The audit trail of the full target, as the backend reads it (only the bench clinician's rows). */
export type AuditSummary = {
  readonly type: 'audit';
  readonly rows: number;
  /** Distinct request ids among the rows: the full gateway makes one per client request. */
  readonly requests: number;
  /** Distinct (request, subgraph, patient) triples: a row written twice for one disclosure shows here. */
  readonly disclosures: number;
  /** Rows by subgraph. */
  readonly rowsBySubgraph: Readonly<Record<string, number>>;
  /** Of the requests after `sinceSeq`: request id -> the patients its rows name. */
  readonly patientsOfRequestsSince: Readonly<Record<string, readonly string[]>>;
  readonly lastSeq: number;
  /** Set when the trail was verified in the backend itself (PGlite: no other process can open it). */
  readonly verified?: { readonly ok: boolean; readonly report: string };
};
export type GatewayReady = { readonly type: 'ready'; readonly url: string; readonly startupSeconds: number };
export type ChildFailed = { readonly type: 'failed'; readonly message: string };
export type ParentRequest =
  { readonly type: 'stats' } | { readonly type: 'stop' } | { readonly type: 'audit'; readonly sinceSeq: number; readonly verify: boolean };

/**
 * The compared targets, in the order of every round: the product with all guards on, stock
 * @apollo/gateway, Hive Gateway with the Rust query planner with request de-duplication off (the
 * peer of the ratio) and on, and the floor (a minimal client making the three subgraph calls itself).
 */
export const GATEWAY_KINDS = ['full', 'stock', 'hive-rust', 'hive-rust-dedup', 'floor'] as const;
export type GatewayKind = (typeof GATEWAY_KINDS)[number];
export type GatewayConfig = {
  readonly kind: GatewayKind;
  readonly subgraphUrls: Readonly<Record<string, string>>;
  readonly keysDir: string;
  /** For the floor: entity type of a source record -> the subgraph that resolves it. */
  readonly subgraphOfRecordType: Readonly<Record<string, string>>;
  /**
   * For `full` on PostgreSQL: the backend's database, so the gateway appends each request's audit rows in one
   * commit (the audit hand-off, as the product's stack runs it). On PGlite the subgraphs commit their own rows.
   */
  readonly auditDatabase?: { readonly url: string; readonly schema: string };
};

export function send(message: BackendReady | GatewayReady | ChildStats | ChildFailed | AuditSummary): void {
  process.send?.(message);
}

/**
 * Runs `stop` once, on the parent's `stop` message, SIGINT/SIGTERM or the IPC channel closing
 * (the parent died), then exits; a stop that hangs is cut after `graceMs`.
 */
export function stopOnRequest(
  stop: () => Promise<void>,
  stats: () => Promise<ChildStats>,
  onAudit?: (sinceSeq: number, verify: boolean) => Promise<AuditSummary>,
  graceMs = 15_000,
): void {
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
    else if (m.type === 'audit' && onAudit)
      onAudit(m.sinceSeq, m.verify).then(send, (error: unknown) => send({ type: 'failed', message: (error as Error).message }));
  });
  process.once('SIGINT', () => shutdown(130));
  process.once('SIGTERM', () => shutdown(143));
  process.once('disconnect', () => shutdown(1));
}

/** Peak resident set size of this process, in KiB (Linux reports maxRSS in KiB). */
export const maxRssKb = (): number => process.resourceUsage().maxRSS;
