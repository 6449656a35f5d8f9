// What every resolver of every subgraph receives: the verified caller, the request's audit
// collector, and a per-request memo for things such as DataLoaders.
import type { Principal } from '../../security/principal.ts';
import type { AuditCollector } from '../../orchestration/audit/collector.ts';
import type { AuditContext } from '../../orchestration/audit/audit-log.ts';

export type SubgraphContext = {
  readonly principal: Principal;
  readonly audit: AuditCollector;
  readonly subgraph: string;
  /** The client's operation as the gateway received it (for audit): name, document SHA-256, trace context. */
  readonly client: { readonly operationName: string | null; readonly documentHash: string | null; readonly traceparent: string | null };
  /** Per-request memo: one DataLoader per key for the lifetime of one request. */
  readonly perRequest: Map<string, unknown>;
  /** SHA-256 of the request the caller's gateway identity was signed for; checked before execution. */
  readonly identityRequestHash?: string;
  /** The gateway's audit hand-off nonce: the rows are returned to the gateway instead of written here (orchestration/audit/handoff.ts). */
  readonly auditHandoff?: string;
};

/** The value memoized under `key` for this request, created on first use. */
export function perRequest<T>(ctx: SubgraphContext, key: string, create: () => T): T {
  if (!ctx.perRequest.has(key)) ctx.perRequest.set(key, create());
  return ctx.perRequest.get(key) as T;
}

/** The audit context of a change a resolver records itself, in the change's own transaction (who, which operation, trace). */
export const requestAuditContext = (ctx: SubgraphContext): AuditContext => ({
  principal: ctx.principal,
  subgraph: ctx.subgraph,
  operationName: ctx.client.operationName,
  documentHash: ctx.client.documentHash,
  traceparent: ctx.client.traceparent,
  outcome: 'success',
});
